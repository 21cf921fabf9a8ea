import { expect } from 'chai';
import { MemberStateWire } from '../../src/proto/messages';
import { formatViolations } from '../sim/checkers';
import { othersHold, TestCluster, until } from '../support/cluster';
import { Recorder } from '../support/recorder';

const KEYS = Array.from({ length: 40 }, (_, i) => `h:${i}`);
/** Calls at once, each lane through one node, as a client connected to it. */
const LANES = 9;

/**
 * Sets, deletes and QUORUM reads (4 : 1 : 5) over KEYS, LANES calls at once spread over the nodes,
 * until `stop` says so. A call to a paused or killed node fails at its deadline or at once: the
 * history records it as of unknown outcome, which the checkers never count as acknowledged; the
 * lanes through the other nodes go on meanwhile.
 */
async function load(rec: Recorder, stop: () => boolean): Promise<void> {
  let i = 0;
  const loop = async (lane: number) => {
    while (!stop()) {
      const n = i++;
      const key = KEYS[(n * 7 + lane) % KEYS.length]!;
      const node = rec.nodes[lane % rec.nodes.length]!;
      const op = n % 10;
      if (op < 4) await rec.write('set', key, node);
      else if (op === 4) await rec.write('delete', key, node);
      else await rec.read(key, node);
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, lane) => loop(lane)));
}

/**
 * Promise 5 (W + R > N: a read sees the latest write acknowledged before it) and promises 1 and 2
 * through the faults a node goes through in production, one at a time: paused past its death (a
 * long GC, a stopped VM) and resumed, or killed and restarted empty. The reads that matter are those
 * right after a node comes back, while it still lacks what was written meanwhile: the load runs
 * throughout, and each phase waits for reads and writes acknowledged after the node came back.
 */
describe('quorum reads and writes while each node in turn is paused past its death, then killed and restarted (N=3, W=2, R=2)', function () {
  this.timeout(180_000);
  let t: TestCluster;
  before(async () => {
    // Anti-entropy every 2 s: a replica that missed a write of unknown outcome (its coordinator
    // paused or killed mid-round) converges within the final wait, not a minute later.
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 2000 });
  });
  after(async () => {
    for (const id of ['n1', 'n2', 'n3']) if (t?.cluster.isRunning(id)) void t.cluster.kill(id, 'SIGCONT');
    await t?.stop();
  });

  it('reads see every write acknowledged before them, and no acknowledged write or delete is lost', async () => {
    const rec = new Recorder(t.config.nodes, { factor: 3, writeQuorum: 2 });
    const okSince = (kind: 'get' | 'write', sinceMs: number) =>
      rec.history.filter(
        (e) =>
          e.status === 'ok' &&
          e.invokedAtMs >= sinceMs &&
          (kind === 'get' ? e.kind === 'get' : e.kind !== 'get'),
      ).length;
    /** Resolves once 60 reads and 40 writes invoked since `sinceMs` were answered: the load went on. */
    const progress = (what: string, sinceMs: number) =>
      until(what, () => okSince('get', sinceMs) >= 60 && okSince('write', sinceMs) >= 40, 60_000, 50);
    /** When each node came back, to count the reads answered in the half second after. */
    const backAt: number[] = [];
    let stopped = false;
    const running = load(rec, () => stopped);
    try {
      await progress('reads and writes before any fault', 0);
      for (const victim of ['n1', 'n2', 'n3']) {
        void t.cluster.kill(victim, 'SIGSTOP');
        try {
          await until(
            `${victim} held dead by the others while paused`,
            () => othersHold(t, victim, MemberStateWire.DEAD),
            30_000,
            100,
          );
        } finally {
          void t.cluster.kill(victim, 'SIGCONT');
        }
        const resumedAt = Date.now();
        backAt.push(resumedAt);
        await until(
          `${victim} held alive again`,
          () => othersHold(t, victim, MemberStateWire.ALIVE),
          30_000,
          100,
        );
        await progress(`reads and writes after ${victim} resumed`, resumedAt);
      }
      for (const victim of ['n2', 'n3']) {
        await t.cluster.kill(victim, 'SIGKILL');
        await t.cluster.startNode(victim);
        backAt.push(Date.now());
        await progress(`reads and writes after ${victim} restarted`, backAt.at(-1)!);
      }
    } finally {
      stopped = true;
      await running;
    }
    try {
      await until(
        'every replica of every key to hold the same version',
        async () => (await rec.apart(KEYS, 'n1')).length === 0,
        60_000,
        500,
      );
      const reads = rec.history.filter((e) => e.kind === 'get' && e.status === 'ok').length;
      const writes = rec.history.filter((e) => e.kind !== 'get' && e.status === 'ok').length;
      const soonAfter = backAt.map(
        (at) =>
          rec.history.filter(
            (e) => e.kind === 'get' && e.status === 'ok' && e.invokedAtMs >= at && e.invokedAtMs < at + 500,
          ).length,
      );
      console.log(
        `      ${reads} reads and ${writes} writes acknowledged, of ${rec.history.length} calls; ` +
          `reads in the half second after each return: ${soonAfter.join(', ')}`,
      );
      expect(formatViolations(await rec.check(KEYS, 'n1'))).to.equal('');
    } finally {
      rec.close();
    }
  });
});
