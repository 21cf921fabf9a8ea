import { expect } from 'chai';
import { HybridLogicalClock, LOGICAL_TICKS_PER_MS, wallMsOf } from '../../../src/store/hlc';
import { compareVersions } from '../../../src/store/version';
import { FakeClock } from './fake-clock';

describe('HybridLogicalClock', () => {
  it('stamps versions with the wall clock times 1024 and the node id', () => {
    const clock = new FakeClock(1000);
    const v = new HybridLogicalClock('n1', clock).now();
    expect(v).to.deep.equal({ timestamp: 1000 * LOGICAL_TICKS_PER_MS, node: 'n1' });
    expect(wallMsOf(v.timestamp)).to.equal(1000);
  });

  it('issues strictly increasing timestamps while the wall clock stands still', () => {
    const hlc = new HybridLogicalClock('n1', new FakeClock(1000));
    const a = hlc.now();
    const b = hlc.now();
    expect(b.timestamp).to.equal(a.timestamp + 1);
  });

  it('follows the wall clock when it moves forward', () => {
    const clock = new FakeClock(1000);
    const hlc = new HybridLogicalClock('n1', clock);
    hlc.now();
    hlc.now();
    clock.advance(5);
    expect(hlc.now().timestamp).to.equal(1005 * LOGICAL_TICKS_PER_MS);
  });

  it('keeps increasing when the wall clock goes backwards', () => {
    const clock = new FakeClock(1000);
    const hlc = new HybridLogicalClock('n1', clock);
    const before = hlc.now();
    clock.advance(-500);
    const after = hlc.now();
    expect(after.timestamp).to.be.greaterThan(before.timestamp);
    expect(wallMsOf(after.timestamp)).to.equal(1000);
  });

  it('carries a logical counter past 1023 into the next millisecond and stays monotonic', () => {
    const hlc = new HybridLogicalClock('n1', new FakeClock(1000));
    let last = -1;
    for (let i = 0; i < 3000; i++) {
      const ts = hlc.now().timestamp;
      expect(ts).to.be.greaterThan(last);
      last = ts;
    }
    expect(wallMsOf(last)).to.equal(1002); // 3000 ticks in one wall ms: ran 2 ms ahead
    expect(Number.isSafeInteger(last)).to.equal(true);
  });

  it('issues versions newer than any remote version it observed', () => {
    const hlc = new HybridLogicalClock('n1', new FakeClock(1000));
    const remote = { timestamp: 5000 * LOGICAL_TICKS_PER_MS + 7, node: 'n2' };
    hlc.observe(remote);
    expect(compareVersions(hlc.now(), remote)).to.equal(1);
  });

  it('is not moved back by observing an older remote version', () => {
    const hlc = new HybridLogicalClock('n1', new FakeClock(1000));
    const mine = hlc.now();
    hlc.observe({ timestamp: 10, node: 'n2' });
    expect(hlc.now().timestamp).to.equal(mine.timestamp + 1);
  });

  it('ignores remote timestamps that are not safe integers', () => {
    const hlc = new HybridLogicalClock('n1', new FakeClock(1000));
    hlc.observe({ timestamp: Number.POSITIVE_INFINITY, node: 'n2' });
    hlc.observe({ timestamp: Number.NaN, node: 'n2' });
    expect(hlc.now().timestamp).to.equal(1000 * LOGICAL_TICKS_PER_MS);
  });
});
