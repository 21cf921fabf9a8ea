import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A retried read-modify-write (one request id, sent again through other nodes) is answered as
 * applied only by a round that sees W replicas hold it, and with the outcome those replicas hold.
 * Both schedules come from the simulator's `leases` scenario (sets ifAbsent retried by their
 * client through the other nodes, which forward them to the key's coordinator).
 */
describe("a lease's retries", function () {
  this.timeout(60_000);
  const lease = { type: 'op', kind: 'set', key: 'r1', mode: 'ifAbsent', node: 'coordinator' } as const;

  // Seed 1453, shrunk to 4 steps: a set ifAbsent at ALL while n1 is cut off. Its round was taken by
  // two replicas of the three it needs (QUORUM_NOT_MET); its copy, queued behind it at the same
  // coordinator, found the request known there, failed its prepare (n1 is no voter), and was answered
  // with the known outcome: acknowledged at ALL, and a read at n1 found nothing (staleReads).
  it('is not answered as applied when its prepare fails', async () => {
    const schedule: SimSchedule = {
      scenario: 'leases',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        {
          atMs: 0,
          type: 'op',
          kind: 'set',
          key: 'r0',
          node: 'coordinator',
          ttlMs: 0,
          consistency: 'default',
        },
        { atMs: 1, type: 'isolate', node: 'n1' },
        { ...lease, atMs: 1008, ttlMs: 100, copies: 2, retryAfterMs: 0, consistency: 'all' },
        { atMs: 1013, type: 'op', kind: 'get', key: 'r1', node: 'n1', consistency: 'one' },
      ],
    };
    const result = await runSchedule(schedule, 1453);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // Seed 1476, shrunk to 4 steps: the coordinator n1 is paused, so a copy through n3 is coordinated
  // by n2 and taken by n2 and n3. Resumed, n1 ran the original: the first replica to answer its
  // prepare knew the request, one of the W it needs, and n1 wrote the record again at a new version
  // and answered that one, which a read had seen the value at before (readsMatchWrites). A prepare
  // that finds a request known now waits for W answers, as one that knew it from the start does.
  it('gets the version its first round wrote, not a new one', async () => {
    const schedule: SimSchedule = {
      scenario: 'leases',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        { atMs: 93, type: 'op', kind: 'get', key: 'r2', node: 'coordinator', consistency: 'default' },
        { atMs: 93, type: 'pause', node: 'n1' },
        { ...lease, key: 'r2', atMs: 1914, ttlMs: 148, copies: 2, retryAfterMs: 6, consistency: 'default' },
        { atMs: 2069, type: 'resume', node: 'n1' },
      ],
    };
    const result = await runSchedule(schedule, 1476);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // Seed 592, shrunk to 4 steps: after a partition heals, n2 still takes n1 for dead, so a copy of a
  // set ifAbsent that n1 and n2 had taken is coordinated by n2, which hears only n3. Known by one
  // of the two replicas it heard from, the request was completed again at a new version, other than
  // the one its caller had been told (readsMatchWrites). Unless it hears every replica, a round
  // cannot tell such a request from one whose first round missed its quorum: it answers that the
  // outcome cannot be told, and writes nothing.
  it('does not write the record again at a new version without hearing every replica', async () => {
    const schedule: SimSchedule = {
      scenario: 'leases',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        { atMs: 520, type: 'isolate', node: 'n3' },
        { atMs: 1875, type: 'heal' },
        { ...lease, key: 'r2', atMs: 2093, ttlMs: 471, copies: 2, retryAfterMs: 57, consistency: 'quorum' },
        { atMs: 2471, type: 'op', kind: 'get', key: 'r2', node: 'n3', consistency: 'all' },
      ],
    };
    const result = await runSchedule(schedule, 592);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // Seed 2551, shrunk to 14 steps: after n2 restarts, n3 sends a lease to n2 as the key's
  // coordinator, while n1, which still takes n2 for dead, sends its retry to n3. n2 found the key
  // held and answered "not stored", an outcome only it remembered; n3, a little later, found the
  // value expired and stored the retry's (readsMatchWrites). An outcome that wrote nothing now goes
  // to the other replicas too, with the record it was decided on.
  it('is not stored by another coordinator after its first was answered "not stored"', async () => {
    const get = { type: 'op', kind: 'get', node: 'coordinator' } as const;
    const schedule: SimSchedule = {
      scenario: 'leases',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        { ...lease, atMs: 871, ttlMs: 687, copies: 1, retryAfterMs: 1, consistency: 'default' },
        { atMs: 910, type: 'op', kind: 'delete', key: 'r2', node: 'n3', consistency: 'quorum' },
        { ...lease, key: 'r0', atMs: 994, node: 'n2', ttlMs: 362, consistency: 'default' },
        { ...lease, key: 'r0', atMs: 1085, node: 'n1', ttlMs: 457, consistency: 'one' },
        { ...get, key: 'r0', atMs: 1347, node: 'n2', consistency: 'all' },
        { ...lease, key: 'r0', atMs: 1365, ttlMs: 169, copies: 2, retryAfterMs: 2, consistency: 'default' },
        { atMs: 1365, type: 'crash', node: 'n2' },
        { ...lease, key: 'r3', atMs: 1558, node: 'n3', ttlMs: 324, consistency: 'one' },
        { ...get, key: 'r2', atMs: 1772, consistency: 'one' },
        { atMs: 2256, type: 'restart', node: 'n2' },
        { ...lease, key: 'r3', atMs: 2258, ttlMs: 487, consistency: 'all' },
        { ...get, key: 'r2', atMs: 2262, consistency: 'default' },
        {
          ...lease,
          key: 'r0',
          atMs: 2370,
          node: 'n3',
          ttlMs: 792,
          copies: 2,
          retryAfterMs: 54,
          consistency: 'default',
        },
        { ...get, key: 'r0', atMs: 2426, consistency: 'default' },
      ],
    };
    const result = await runSchedule(schedule, 2551);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // leases-two-coordinators seed 2383, shrunk to 6 steps. A lease at the default W through n3 (cut
  // off, then healed) is retried through n1, which coordinates its copy in one round with another
  // lease at ALL. n2 and n3 both remember the first (its W); the round took the batch's W (3, for
  // the call at ALL) for the first's as well, wrote its record again at n1's ballot, and a read found
  // the value at a version its caller was never told (readsMatchWrites).
  it('keeps the version its first round wrote when it rides with a call at ALL', async () => {
    const forwarded = { type: 'op', kind: 'set', key: 'r2', mode: 'ifAbsent', forwarded: true } as const;
    const schedule: SimSchedule = {
      scenario: 'leases-two-coordinators',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        { atMs: 4, type: 'isolate', node: 'n3' },
        { ...forwarded, atMs: 294, node: 'n3', ttlMs: 361, copies: 1, retryAfterMs: 47, consistency: 'all' },
        {
          ...forwarded,
          atMs: 727,
          node: 'n3',
          ttlMs: 516,
          copies: 1,
          retryAfterMs: 4,
          consistency: 'default',
        },
        { atMs: 1997, type: 'heal' },
        { ...forwarded, atMs: 2316, node: 'n1', ttlMs: 617, copies: 1, retryAfterMs: 58, consistency: 'all' },
        { atMs: 2671, type: 'op', kind: 'get', key: 'r2', node: 'n1', consistency: 'all' },
      ],
    };
    const result = await runSchedule(schedule, 2383);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // leases-two-coordinators seed 40183, shrunk to 14 steps, found the day a node that took none of a
  // record's writes stopped completing it: n3 ran the leases at the default W and at ALL as one
  // round, n1 took its accept and then coordinated their copies. The copy of the lease at ALL, which
  // had stored nothing, was taken for a write to complete (n1 had taken the accept that carried it),
  // and the record was written again at n1's ballot: the other lease's caller had been told n3's.
  it('completes no record for a copy of a lease that stored nothing', async () => {
    const lease = { type: 'op', kind: 'set', mode: 'ifAbsent', forwarded: true } as const;
    const get = { type: 'op', kind: 'get' } as const;
    const schedule: SimSchedule = {
      scenario: 'leases-two-coordinators',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: [
        {
          ...lease,
          atMs: 0,
          key: 'r0',
          node: 'coordinator',
          ttlMs: 100,
          copies: 1,
          retryAfterMs: 4,
          consistency: 'default',
        },
        { atMs: 4, type: 'isolate', node: 'n1' },
        { ...lease, atMs: 27, key: 'r1', node: 'coordinator', ttlMs: 227, consistency: 'all' },
        {
          ...lease,
          atMs: 115,
          key: 'r2',
          node: 'n3',
          ttlMs: 480,
          copies: 1,
          retryAfterMs: 46,
          consistency: 'all',
        },
        {
          ...lease,
          atMs: 124,
          key: 'r2',
          node: 'n3',
          ttlMs: 195,
          copies: 1,
          retryAfterMs: 39,
          consistency: 'default',
        },
        {
          ...lease,
          atMs: 164,
          key: 'r2',
          node: 'n3',
          ttlMs: 100,
          copies: 1,
          retryAfterMs: 0,
          consistency: 'all',
        },
        { ...get, atMs: 842, key: 'r3', node: 'n1', consistency: 'all' },
        { ...get, atMs: 1133, key: 'r1', node: 'n2', consistency: 'default' },
        { atMs: 1365, type: 'heal' },
        { atMs: 1524, type: 'op', kind: 'delete', key: 'r2', node: 'coordinator', consistency: 'one' },
        { ...get, atMs: 1691, key: 'r1', node: 'coordinator', consistency: 'quorum' },
        { ...lease, atMs: 1885, key: 'r1', node: 'coordinator', ttlMs: 316, consistency: 'quorum' },
        { atMs: 2096, type: 'op', kind: 'set', key: 'r0', node: 'n2', ttlMs: 741, consistency: 'quorum' },
        { ...get, atMs: 2272, key: 'r2', node: 'n1', consistency: 'quorum' },
      ],
    };
    const result = await runSchedule(schedule, 40183);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
