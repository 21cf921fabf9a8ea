import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule, WARMUP_MS } from './run';
import type { SimSchedule, SimStep } from './schedule';
import { ids, replicasOf } from './workload';

/**
 * What a node owes travels with the copies it sends (CatchUpState.debt): a move-in that took keys
 * from it owes the same peers for the keys it brought in. Only for those, and only until it pulls
 * from them: a debt must neither spread to every member nor outlive the peer's return.
 */
describe('debts taken from the senders of a catch-up', function () {
  this.timeout(120_000);

  const keys = ['r0', 'r1', 'r2', 'r3'];
  const sets: SimStep[] = keys.map((key) => ({
    atMs: 0,
    type: 'op',
    kind: 'set',
    key,
    node: 'coordinator',
    consistency: 'default',
  }));

  /** Runs `steps` on 3 nodes (N=3, W=2, R=1), seed 5, and reads each node's owed peers at `atMs`. */
  async function owedAt(steps: SimStep[], atMs: number, durationMs: number) {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
      durationMs,
      steps: [...sets, ...steps],
    };
    const owed: Record<string, string[]> = {};
    const result = await runSchedule(schedule, 5, (cluster) => {
      cluster.time.at(cluster.time.now() + WARMUP_MS + atMs, '<world>', () => {
        for (const id of ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']) {
          const core = cluster.core(id);
          if (core) owed[id] = [...core.owedPeers];
        }
      });
    });
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    return { owed, result };
  }

  // n3 crashes for good; n4 and n5 join, each taking n3 for dead in its catch-up. n1 and n2 gained
  // no key from either join, so the debts their move-ins met (n4's, then n5's) are not theirs. Before,
  // every member owed n3 for every key: no replica of n3's keys counted its own copy, and reads of
  // those keys failed until n3 came back.
  it('is not taken by a member whose move-in brought in no key', async () => {
    const { owed, result } = await owedAt(
      [
        { atMs: 500, type: 'crash', node: 'n3' },
        { atMs: 5000, type: 'join', node: 'n4', via: 'n1' },
        { atMs: 30_000, type: 'join', node: 'n5', via: 'n1' },
        { atMs: 60_000, type: 'op', kind: 'get', key: 'r2', node: 'n1', consistency: 'default' },
      ],
      59_990,
      70_000,
    );
    expect(owed.n1, 'n1 owes').to.deep.equal([]);
    expect(owed.n2, 'n2 owes').to.deep.equal([]);
    // r2 is on n4, n1, n5: n1 answers from its own copy, which lacks nothing.
    expect(result.history.at(-1)).to.include({ kind: 'get', key: 'r2', status: 'ok', found: true });
  });

  // n3 crashes; n4 joins (and owes n3); n2's link to n1 slows to 2.5 s, so that the joins of n5 and
  // n6 two seconds apart cut the first move-ins short after they took n4's debt; n3 restarts at
  // 50 s. Before, a move-in cut short took the debt and pulled from nobody: n1 and n2 owed n3 for
  // good, though it was back.
  it('is paid once the owed peer is back, though the move-in that took it was cut short', async () => {
    const { owed } = await owedAt(
      [
        { atMs: 500, type: 'crash', node: 'n3' },
        { atMs: 5000, type: 'join', node: 'n4', via: 'n1' },
        { atMs: 29_000, type: 'link', from: 'n2', to: 'n1', dropRate: 0, extraDelayMs: 2500 },
        { atMs: 30_000, type: 'join', node: 'n5', via: 'n2' },
        { atMs: 32_000, type: 'join', node: 'n6', via: 'n2' },
        { atMs: 40_000, type: 'link', from: 'n2', to: 'n1', dropRate: 0, extraDelayMs: 0 },
        { atMs: 50_000, type: 'restart', node: 'n3' },
      ],
      149_000,
      150_000,
    );
    expect(owed).to.deep.equal({ n1: [], n2: [], n3: [], n4: [], n5: [], n6: [] });
  });

  // N=3, W=2, R=2 on four nodes; k8 is on n2, n1, n3. n2 sets k8 (n1 acknowledges; n3 is cut off
  // from n2), n1 crashes for good, n2 crashes and restarts owing n1. n2 leaves, so n4 brings k8 in
  // from n2 (slowed to 8 s), and n5 joins before that pull completes: the second move-in's rings
  // before it hold the one n4 was bringing k8 in on. Before, that move-in took n2's debt for no key
  // of that ring, and a get at n3 or n4 counted both their copies (neither holds the set) and found
  // nothing: both gets must be refused instead, or find the set.
  it('stands for the keys a move-in cut short was bringing in', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 4, factor: 3, writeQuorum: 2, readQuorum: 2 },
      durationMs: 70_000,
      steps: [
        { atMs: 0, type: 'cut', from: 'n2', to: 'n3' },
        { atMs: 0, type: 'cut', from: 'n3', to: 'n2' },
        { atMs: 100, type: 'op', kind: 'set', key: 'k8', node: 'coordinator', consistency: 'default' },
        { atMs: 300, type: 'crash', node: 'n1' },
        { atMs: 500, type: 'crash', node: 'n2' },
        { atMs: 600, type: 'heal' },
        { atMs: 3000, type: 'restart', node: 'n2' },
        { atMs: 10_000, type: 'link', from: 'n2', to: 'n4', dropRate: 0, extraDelayMs: 8000 },
        { atMs: 10_000, type: 'link', from: 'n2', to: 'n3', dropRate: 0, extraDelayMs: 300 },
        { atMs: 11_000, type: 'leave', node: 'n2', via: 'n3' },
        { atMs: 12_000, type: 'join', node: 'n5', via: 'n3' },
        { atMs: 45_000, type: 'link', from: 'n2', to: 'n3', dropRate: 0, extraDelayMs: 0 },
        { atMs: 45_000, type: 'link', from: 'n2', to: 'n4', dropRate: 0, extraDelayMs: 0 },
        { atMs: 60_000, type: 'op', kind: 'get', key: 'k8', node: 'n3', consistency: 'default' },
        { atMs: 60_500, type: 'op', kind: 'get', key: 'k8', node: 'n4', consistency: 'default' },
      ],
    };
    expect(replicasOf('k8', ids(4), 3)).to.deep.equal(['n2', 'n1', 'n3']);
    const result = await runSchedule(schedule, 5);
    const [set, ...gets] = result.history;
    expect(set, 'the set').to.include({ kind: 'set', status: 'ok' });
    expect(gets.map((g) => g.kind)).to.deep.equal(['get', 'get']);
    for (const get of gets)
      if (get.status === 'ok')
        expect(get, `the get at ${get.node}`).to.include({ found: true, readValue: set!.value });
    // n1 never comes back: the final read, which must hear from it, is all the checkers miss.
    const stale = result.violations.filter((v) => v.checker !== 'lostWrites');
    expect(stale, formatViolations(stale)).to.deep.equal([]);
  });
});
