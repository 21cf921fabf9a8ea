import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A coordinator that builds its round on a record it took from a replica's prepare answer must carry
 * on the requests that made that record. Here n1's round for increment #1 misses its quorum (its
 * accept to n2 and n3 is lost, and the hints it keeps for them expire before the heal), so n1 alone
 * holds the record and knows the request. n2's round for increment #2 hears n1 and builds on that
 * record; its accept reaches n3. Increment #1's client then retries through n2 and n3 while n1 cannot
 * answer them. Before prepare answers carried the requests that made their record, n2 and n3 held a
 * counter with increment #1 in it but no memory of the request, and the retry applied it again.
 */
describe('a round built on a record from a prepare answer', function () {
  this.timeout(120_000);

  it('carries the requests that made that record, so their retries are not applied again', async () => {
    const schedule: SimSchedule = {
      scenario: 'two-coordinators',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, hintMaxAgeMs: 200 },
      durationMs: 7000,
      steps: [
        {
          ...{ atMs: 10, type: 'op', kind: 'incr', key: 'c0', node: 'n1', consistency: 'default' },
          ...{ forwarded: true, copies: 2, retryAfterMs: 3600 },
        },
        // Its prepare is answered; its accept is lost.
        { atMs: 12, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 12, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 2500, type: 'heal' },
        // n2's prepare hears n1 (n3's answer is lost); its accept reaches n1 and n3.
        { atMs: 2990, type: 'cut', from: 'n3', to: 'n2' },
        {
          atMs: 3000,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n2',
          consistency: 'default',
          forwarded: true,
        },
        { atMs: 3400, type: 'heal' },
        // The retries through n2 and n3 (at 3,610 ms) hear nothing from n1.
        { atMs: 3500, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 3500, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 4500, type: 'heal' },
      ],
    };
    const result = await runSchedule(schedule, 1);
    const [first, second] = result.history;
    expect(second, 'increment #2').to.include({ kind: 'incr', status: 'ok', counter: 2 });
    expect(first?.status, 'increment #1').to.not.equal('failed');
    expect(result.final.counters.get('c0'), 'the counter: each increment once').to.equal(2);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
