import { expect } from 'chai';
import pino from 'pino';
import { MemoryGuard } from '../../../src/server/memory-guard';

describe('MemoryGuard (issue 12 §6)', () => {
  it('runs a collection when RSS is above its budget, at most once per gap, and stops', async () => {
    const guard = new MemoryGuard({
      budgetBytes: 1,
      logger: pino({ level: 'silent' }),
      intervalMs: 10,
      minGapMs: 50,
    });
    guard.start();
    try {
      await new Promise((r) => setTimeout(r, 180));
      expect(guard.collections).to.be.within(2, 4);
    } finally {
      guard.stop();
    }
    const after = guard.collections;
    await new Promise((r) => setTimeout(r, 60));
    expect(guard.collections, 'none after stop').to.equal(after);
  });

  it('runs none while RSS is within its budget', async () => {
    const guard = new MemoryGuard({
      budgetBytes: 2 ** 50,
      logger: pino({ level: 'silent' }),
      intervalMs: 10,
    });
    guard.start();
    await new Promise((r) => setTimeout(r, 50));
    guard.stop();
    expect(guard.collections).to.equal(0);
  });
});
