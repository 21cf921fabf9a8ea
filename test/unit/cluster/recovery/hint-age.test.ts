import { expect } from 'chai';
import { HintStore } from '../../../../src/cluster/recovery/hints';
import type { StoreRecord } from '../../../../src/store/types';

const NOW = 1_700_000_000_000;

/** A live record whose version's HLC reads `aheadMs` past NOW (negative: behind). */
function written(aheadMs: number): StoreRecord {
  return {
    value: Buffer.from('v'),
    flags: 0,
    version: { timestamp: (NOW + aheadMs) * 1024, node: 'n1' },
    expiresAtMs: 0,
    tombstone: false,
  };
}

/** A hint's age is counted on the clock of the node that keeps it, not read from an HLC timestamp. */
describe('HintStore ages', () => {
  const limits = { maxCount: 100, maxBytes: 1 << 20, maxAgeMs: 30_000 };

  it('drops a hint kept longer than maxAgeMs though its HLC runs 40 s ahead of every wall clock', () => {
    const clock = { now: () => NOW };
    const hints = new HintStore(limits, clock);
    hints.add('n3', 'k', written(40_000));
    clock.now = () => NOW + 30_000;
    expect(hints.peek('n3', 10), 'at the limit').to.have.length(1);
    clock.now = () => NOW + 30_001;
    expect(hints.peek('n3', 10), 'past it').to.deep.equal([]);
    expect(hints.expired).to.equal(1);
  });

  it('counts a newer write replacing a hint from when it came', () => {
    const clock = { now: () => NOW };
    const hints = new HintStore(limits, clock);
    hints.add('n3', 'k', written(0));
    clock.now = () => NOW + 20_000;
    hints.add('n3', 'k', written(20_000));
    clock.now = () => NOW + 45_000;
    expect(hints.peek('n3', 10).map(([, r]) => r.version.timestamp)).to.deep.equal([(NOW + 20_000) * 1024]);
  });

  it('still drops sooner a hint whose write is older than its keeping says', () => {
    const clock = { now: () => NOW };
    const hints = new HintStore(limits, clock);
    hints.add('n3', 'k', written(-29_000));
    clock.now = () => NOW + 1001;
    expect(hints.peek('n3', 10)).to.deep.equal([]);
  });
});
