import { expect } from 'chai';
import pino from 'pino';
import { MemoryGuard, rssTargetOf } from '../../../src/server/memory-guard';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

describe('MemoryGuard (issue 12 §6)', () => {
  it('targets 1.3 x max_memory, and at least max_memory + 80 MiB for small stores', () => {
    expect(rssTargetOf(1024 * MiB)).to.equal(1.3 * 1024 * MiB);
    expect(rssTargetOf(64 * MiB)).to.equal(144 * MiB);
  });

  it('collects when RSS is above its target, at most once per gap, and asks the store to hold less', async () => {
    const pressures: number[] = [];
    const guard = new MemoryGuard({
      targetBytes: 1,
      setPressure: (b) => pressures.push(b),
      maxPressureBytes: 10 * MiB,
      logger: silent,
      intervalMs: 10,
      minGapMs: 50,
    });
    guard.start();
    try {
      await new Promise((r) => setTimeout(r, 180));
      expect(guard.collections).to.be.within(2, 4);
      expect(pressures.at(-1), 'capped').to.equal(10 * MiB);
    } finally {
      guard.stop();
    }
    const after = guard.collections;
    await new Promise((r) => setTimeout(r, 60));
    expect(guard.collections, 'none after stop').to.equal(after);
  });

  it('does nothing while RSS is within its target', async () => {
    const pressures: number[] = [];
    const guard = new MemoryGuard({
      targetBytes: 2 ** 50,
      setPressure: (b) => pressures.push(b),
      logger: silent,
      intervalMs: 10,
    });
    guard.start();
    await new Promise((r) => setTimeout(r, 50));
    guard.stop();
    expect(guard.collections).to.equal(0);
    expect(pressures).to.deep.equal([]);
  });
});
