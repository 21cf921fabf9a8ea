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

  // At 631fbf0 a burst of 1 MiB values left RSS at 0.96 x its target with 54 MiB of garbage that no
  // allocation made V8 collect, and the store held a quarter less than max_memory for good.
  it('collects while the store holds less and RSS sits just under the target, and gives the pressure back', async () => {
    const model = { rss: 120 * MiB, garbage: 0 };
    const pressures: number[] = [];
    const guard = new MemoryGuard({
      targetBytes: 100 * MiB,
      setPressure: (b) => pressures.push(b),
      logger: silent,
      intervalMs: 5,
      minGapMs: 20,
      reclaimGapMs: 40,
      readRss: () => model.rss,
      collect: () => {
        model.rss -= model.garbage;
        model.garbage = 0;
      },
    });
    guard.start();
    try {
      await until(() => guard.pressureBytes > 0);
      expect(guard.pressureBytes, 'what did not fit').to.equal(20 * MiB);
      // The burst ends: 95 MiB, of which 20 are garbage a collection frees.
      Object.assign(model, { rss: 95 * MiB, garbage: 20 * MiB });
      const collections = guard.collections;
      await until(() => guard.pressureBytes === 0);
      expect(guard.collections - collections, 'one collection to find it out').to.equal(1);
      expect(pressures.at(-1)).to.equal(0);
    } finally {
      guard.stop();
    }
  });

  it('collects for that at most once per reclaimGapMs while the pressure stays', async () => {
    const model = { rss: 120 * MiB };
    const guard = new MemoryGuard({
      targetBytes: 100 * MiB,
      logger: silent,
      intervalMs: 5,
      minGapMs: 10,
      reclaimGapMs: 100,
      readRss: () => model.rss,
      collect: () => undefined,
    });
    guard.start();
    try {
      await until(() => guard.pressureBytes > 0);
      model.rss = 95 * MiB; // under the target, but no garbage to free: the pressure stays
      const collections = guard.collections;
      await new Promise((r) => setTimeout(r, 250));
      expect(guard.collections - collections).to.be.within(1, 3);
      expect(guard.pressureBytes).to.equal(20 * MiB);
    } finally {
      guard.stop();
    }
  });
});

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done(), 'condition reached within 2 s').to.equal(true);
}
