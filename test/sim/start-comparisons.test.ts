import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule, WARMUP_MS } from './run';
import type { SimSchedule } from './schedule';

/**
 * A node compares its ranges with every peer once its catch-up ends (after a restart its hints died
 * with its process, so writes it coordinated that a replica missed are only on the others). Not a
 * node that holds nothing then: it pulled nothing, so its peers hold nothing of what it replicates
 * either, and the comparisons are two scans each for nothing. At a cluster's first start every node
 * is such a node, and the scans fell in the first seconds of load (bench:compare's measurements).
 */
describe('the comparisons a node makes when its catch-up ends', function () {
  this.timeout(60_000);

  const run = async (steps: SimSchedule['steps'], atMs: number) => {
    const schedule: SimSchedule = {
      scenario: 'restart-catch-up',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: atMs + 1000,
      steps,
    };
    const comparisons = new Map<string, number>();
    const result = await runSchedule(schedule, 1, (cluster) =>
      cluster.time.at(cluster.time.now() + WARMUP_MS + atMs, '<world>', () => {
        for (const id of cluster.ids()) {
          const ae = cluster.core(id)?.antiEntropy;
          comparisons.set(id, ae ? ae.comparisons + ae.scans : -1);
        }
      }),
    );
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    return comparisons;
  };

  it('makes none at a first start, when no node holds anything', async () => {
    // Well past the two seconds after which the comparisons owed run.
    const comparisons = await run([], 4000);
    expect([...comparisons.values()], 'comparisons and scans per node').to.deep.equal([0, 0, 0]);
  });

  it('makes them after a restart that pulled records', async () => {
    const comparisons = await run(
      [
        { atMs: 100, type: 'op', kind: 'set', key: 'r0', node: 'n1', consistency: 'all' },
        { atMs: 500, type: 'crash', node: 'n2' },
        { atMs: 600, type: 'restart', node: 'n2' },
      ],
      4000,
    );
    expect(comparisons.get('n2'), "n2's comparisons").to.be.greaterThan(0);
  });
});
