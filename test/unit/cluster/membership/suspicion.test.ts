import { expect } from 'chai';
import { DEFAULT_GOSSIP_CONFIG } from '../../../../src/cluster/membership/config';
import {
  indirectWaitMs,
  probeBudgetMs,
  remainingSuspicionMs,
  worstCaseDetectionMs,
} from '../../../../src/cluster/membership/suspicion';

describe('suspicion deadline math', () => {
  const table: [suspectedAtMs: number, nowMs: number, timeoutMs: number, remainingMs: number][] = [
    [1000, 1000, 1500, 1500],
    [1000, 1400, 1500, 1100],
    [1000, 2500, 1500, 0],
    [1000, 9000, 1500, 0],
    [1000, 900, 1500, 1500], // clock stepped back: the full timeout, never more
  ];
  for (const [suspectedAtMs, nowMs, timeoutMs, remainingMs] of table) {
    it(`leaves ${remainingMs} ms of a ${timeoutMs} ms suspicion entered at ${suspectedAtMs} when it is ${nowMs}`, () => {
      expect(remainingSuspicionMs(suspectedAtMs, nowMs, timeoutMs)).to.equal(remainingMs);
    });
  }

  it('waits the rest of the interval for indirect acks, but at least one probe timeout', () => {
    expect(indirectWaitMs({ probeIntervalMs: 1000, probeTimeoutMs: 300 })).to.equal(700);
    expect(indirectWaitMs({ probeIntervalMs: 500, probeTimeoutMs: 300 })).to.equal(300);
    expect(probeBudgetMs({ probeIntervalMs: 500, probeTimeoutMs: 300 })).to.equal(600);
  });

  it('puts the default worst-case detection of a 3-node cluster near 3 s', () => {
    expect(worstCaseDetectionMs(3, DEFAULT_GOSSIP_CONFIG)).to.equal(3100);
    expect(worstCaseDetectionMs(5, DEFAULT_GOSSIP_CONFIG)).to.equal(4100);
  });
});
