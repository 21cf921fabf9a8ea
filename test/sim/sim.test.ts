import { expect } from 'chai';
import fc from 'fast-check';
import { formatViolations } from './checkers';
import { explore } from './explore';
import { runSchedule } from './run';
import { GREEN_SCENARIOS, SCENARIOS, type SimSchedule } from './schedule';
import { SimCluster } from './sim-cluster';

/**
 * The simulator as CI runs it: a fixed budget of seeds per green scenario (npm run sim explores more),
 * determinism, clean stops, and the issue 11 faults it reproduces. Budget: SIM_SEEDS seeds per scenario.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 20);

const scheduleOf = (scenario: string, seed: number): SimSchedule => {
  const arbitrary = SCENARIOS[scenario];
  if (!arbitrary) throw new Error(`no scenario ${scenario}`);
  return fc.sample(arbitrary(), { seed, numRuns: 1 })[0]!;
};

describe('the simulator', function () {
  this.timeout(180_000);

  // rmw-any-coordinator and reforward-after-quorum reproduced issue 11 §1 (seed 1, at a2650cf).
  // sloppy-quorum reproduced issue 11 §5 (seed 1, at a2650cf); restart-catch-up fails 15 of its
  // first 20 seeds (staleReads) with the catching-up state turned off (issue 11 §2).
  // Every green scenario: five of them (coordinator-failover to paused-past-hints) had been left out
  // of this list, so CI never ran them. CI's budget for these is a minute: 40 seeds of all thirty took
  // 110 s in a CI run, so 20 each (about 55 s there); `npm run sim` explores more, and the sweeps
  // behind the README's figures far more.
  for (const scenario of Object.keys(GREEN_SCENARIOS)) {
    it(`keeps every promise in ${SEEDS} seeds of the '${scenario}' scenario`, async () => {
      const report = await explore(scenario, 1, SEEDS, undefined, 20_000);
      const failed = report.failures.map(
        (f) =>
          `seed ${f.seed} (${f.schedule.steps.length} steps after shrinking):\n${formatViolations(f.violations)}`,
      );
      expect(failed, failed.join('\n')).to.deep.equal([]);
    });
  }

  it('gives the same run byte for byte for the same schedule and seed', async () => {
    const schedule = scheduleOf('crash', 7);
    const first = await runSchedule(schedule, 7);
    const second = await runSchedule(schedule, 7);
    expect(first.history.length).to.be.above(10);
    expect(second.fingerprint).to.equal(first.fingerprint);
    expect(JSON.stringify(second.history)).to.equal(JSON.stringify(first.history));
    expect(second.eventsRun).to.equal(first.eventsRun);
  });

  it('gives a different run for another seed of the network', async () => {
    const schedule = scheduleOf('crash', 7);
    const a = await runSchedule(schedule, 7);
    const b = await runSchedule(schedule, 8);
    expect(b.fingerprint).to.not.equal(a.fingerprint);
  });

  describe('a node core stopped mid-way', () => {
    /** A 3-node cluster with `keys` keys written through n1, run until quiet. */
    async function loaded(keys: number): Promise<SimCluster> {
      const cluster = new SimCluster({ seed: 3, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
      cluster.startAll();
      await cluster.time.runUntil(cluster.time.now() + 1000);
      const core = cluster.core('n1')!;
      for (let i = 0; i < keys; i++) {
        const op = {
          kind: 'set',
          key: `k${i}`,
          value: Buffer.from('v'),
          flags: 1,
          ttlMs: 0,
          mode: 'always',
          consistency: 'default',
        } as const;
        void core.execute(op, { forwarded: false, deadlineMs: cluster.time.now() + 5000 });
      }
      await cluster.time.runUntil(cluster.time.now() + 2000);
      return cluster;
    }

    it('in its catch-up leaves no timer, call or task behind', async () => {
      const cluster = await loaded(50);
      cluster.crash('n3');
      // Slow links to n3: its catch-up from n1 and n2 is still streaming when it is stopped.
      for (const peer of ['n1', 'n2']) cluster.net.setFault(peer, 'n3', { dropRate: 0, extraDelayMs: 5000 });
      cluster.restart('n3');
      await cluster.time.runUntil(cluster.time.now() + 100);
      const core = cluster.core('n3')!;
      expect(core.backgroundTasks, 'catch-up running').to.equal(1);
      const owner = cluster.ownerOf('n3');
      let stopped = false;
      void cluster.stop('n3').then(() => (stopped = true));
      await cluster.time.runUntil(cluster.time.now() + 10);
      expect(stopped, 'stop finished').to.equal(true);
      expect(core.backgroundTasks).to.equal(0);
      expect(cluster.time.pendingFor(owner)).to.equal(0);
      await stopRest(cluster);
    });

    it('in a rebalance leaves no timer, call or task behind', async () => {
      const cluster = await loaded(200);
      // A fourth node with a slow link from n1: n1's rebalance is still sending when n1 stops.
      cluster.net.setFault('n1', 'n4', { dropRate: 0, extraDelayMs: 5000 });
      void cluster.join('n4', 'n1');
      await cluster.time.runUntil(cluster.time.now() + 100);
      const core = cluster.core('n1')!;
      expect(core.rebalance?.done, 'rebalance running').to.equal(false);
      expect(core.backgroundTasks).to.be.above(0);
      const owner = cluster.ownerOf('n1');
      let stopped = false;
      void cluster.stop('n1').then(() => (stopped = true));
      await cluster.time.runUntil(cluster.time.now() + 10);
      expect(stopped, 'stop finished').to.equal(true);
      expect(core.backgroundTasks).to.equal(0);
      expect(cluster.time.pendingFor(owner)).to.equal(0);
      await stopRest(cluster);
    });

    async function stopRest(cluster: SimCluster): Promise<void> {
      let done = false;
      void cluster.stopAll().then(() => (done = true));
      await cluster.time.runUntil(cluster.time.now() + 20_000);
      expect(done).to.equal(true);
      expect(cluster.leftovers()).to.deep.equal([]);
    }
  });

  /**
   * Faults of issue 11 that today's code has, each reproduced by a seed. The first test of each pair
   * shows the simulator finds it; the skipped one is the promise, to be turned on by issue 11's fix.
   */
  describe('the faults of issue 11', () => {
    /** Seeds that broke a promise at a2650cf (the simulator's first commit) and keep it since the fix. */
    const fixed: { scenario: string; seed: number; checker: string; what: string }[] = [
      {
        scenario: 'rmw-any-coordinator',
        seed: 1,
        checker: 'increments',
        what: 'two coordinators raced an incr (§1)',
      },
      {
        scenario: 'rmw-any-coordinator',
        seed: 7,
        checker: 'casOnce',
        what: 'two cas calls won on one version (§1)',
      },
      {
        scenario: 'reforward-after-quorum',
        seed: 1,
        checker: 'increments',
        what: 'a forward re-sent after QUORUM_NOT_MET counted twice (§1)',
      },
      {
        scenario: 'sloppy-quorum',
        seed: 1,
        checker: 'staleReads',
        what: "a stand-in's hint counted toward W (§5)",
      },
      {
        scenario: 'join-moves-keys',
        seed: 5,
        checker: 'staleReads',
        what: 'a moved key was read before it arrived (§4)',
      },
      {
        scenario: 'coordinator-failover',
        seed: 9,
        checker: 'increments',
        what: 'a restarting node and its successor both coordinated a key, at a74daf5 (§1)',
      },
      {
        scenario: 'false-suspicion',
        seed: 108,
        checker: 'casOnce',
        what: 'a resumed node and its successor both won a cas on one version, at a74daf5 (§1)',
      },
      {
        scenario: 'rmw-any-coordinator',
        seed: 1904,
        checker: 'convergence',
        what: 'a replica that refused an accept below a higher ballot never got the value, at 0c181a3',
      },
    ];
    for (const f of fixed) {
      it(`keeps ${f.checker} in '${f.scenario}' seed ${f.seed}, where ${f.what}`, async () => {
        const result = await runSchedule(scheduleOf(f.scenario, f.seed), f.seed);
        expect(formatViolations(result.violations)).to.equal('');
      });
    }
  });
});
