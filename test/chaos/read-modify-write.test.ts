import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { status, type ServiceError } from '@grpc/grpc-js';
import { LocalCluster } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import { MemberStateWire, type TopologyResponseMsg } from '../../src/proto/messages';
import { Ring } from '../../src/ring/ring';
import { othersHold, testConfig, TestCluster, until } from '../support/cluster';

/**
 * The deadline of calls whose outcome the tests count: generous, since a call cut off by it would
 * be counted as unknown and fail an exact tally on a slow machine. It only stops a call that hangs.
 */
const CALL_DEADLINE_MS = 30_000;

interface Tally {
  ok: number;
  /** Calls whose outcome cannot be known (deadline, node gone mid-call): applied or not. */
  unknown: number;
  failed: number;
  /** The first few messages of unknown and failed calls, by address: what a failed tally says. */
  errors?: string[];
}

/**
 * `perNode` unary Cache/Increment calls of `key` to each of `addresses`, all in flight at once;
 * `onOk` sees the tally after each acknowledged one.
 */
async function incrementEverywhere(
  addresses: string[],
  key: string,
  perNode: number,
  onOk?: (tally: Tally) => void,
): Promise<Tally> {
  const tally: Tally = { ok: 0, unknown: 0, failed: 0 };
  const clients = addresses.map((a) => new UnaryClient(a, CALL_DEADLINE_MS));
  try {
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: perNode }, () =>
          c.cache('Increment', { key, delta: 1 }).then(
            () => {
              tally.ok++;
              onOk?.(tally);
            },
            (err: ServiceError) => {
              const errors = (tally.errors ??= []);
              if (errors.length < 5) errors.push(`${addresses[clients.indexOf(c)]}: ${err.details}`);
              // UNAVAILABLE or DEADLINE_EXCEEDED: the call may have been applied.
              if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) tally.unknown++;
              else tally.failed++;
            },
          ),
        ),
      ),
    );
  } finally {
    for (const c of clients) c.close();
  }
  return tally;
}

/** The counter as a read of `consistency` (2 QUORUM, 3 ALL) sees it through `address`. */
async function counterValue(address: string, key: string, consistency: number): Promise<number> {
  const c = new UnaryClient(address, 10_000);
  try {
    const got = await c.cache<{ found: boolean; value: Buffer }>('Get', { key, consistency });
    return got.found ? Number(got.value.toString()) : 0;
  } finally {
    c.close();
  }
}

// Issue 11 §1: read-modify-write happens exactly once. On 2fbf8d0 every replica coordinated its own
// increments, so the counter of the first test ended below 1,200 (1,096 measured).
describe('increments sent at once to every node of N=3, W=2 (issue 11 §1)', function () {
  this.timeout(120_000);
  let t: TestCluster;

  // One cluster for these tests: starting one is most of a short test's time on a loaded machine
  // (three node processes loading at once). Each test has a key of its own, and finds every node
  // running and held alive by the others (a node a test killed is started again, caught up, before
  // the next one). The tests that need every call answered come first, on nodes that have seen no
  // fault yet: a retry after its coordinator's SIGKILL is answered only if the third replica took
  // the round before the kill, which a node busy recovering from a fault may not have (a retry came
  // back UNAVAILABLE, "may have taken effect", when the retried test ran after a restart). The two
  // that follow count calls of unknown outcome as such; between them, one restart.
  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  beforeEach(async () => {
    for (const { id } of t.config.nodes) if (!t.cluster.isRunning(id)) await t.cluster.startNode(id);
    for (const { id } of t.config.nodes)
      await until(`the others hold ${id} alive`, () => othersHold(t, id, MemberStateWire.ALIVE), 30_000);
  });
  after(() => t?.stop());

  it('count every acknowledged increment exactly once: 3 x 400 end at 1,200', async () => {
    const tally = await incrementEverywhere(t.seeds, 'hits', 400);
    expect(tally, JSON.stringify(tally.errors)).to.deep.equal({ ok: 1200, unknown: 0, failed: 0 });
    expect(await counterValue(t.address('n2'), 'hits', 3)).to.equal(1200);
  });

  // A caller that gave up on a slow coordinator retries through the other replicas, which forward to
  // it: the copies of one request then reach the coordinator together and ride one round. On 76fb3f3
  // each copy in a round was applied (5 increments sent everywhere while the cluster was paused
  // counted 9): a request's outcome was looked up when it arrived, not when its round applied it.
  it('apply one request once when its copies reach the coordinator at the same moment', async () => {
    const key = 'copies';
    const ids = ['n1', 'n2', 'n3'];
    const clients = ids.map((id) => new UnaryClient(t.address(id), CALL_DEADLINE_MS));
    try {
      for (let r = 1; r <= 5; r++) {
        const sent = clients.flatMap((c) =>
          [0, 1].map(() =>
            c.cache<{ value: number }>('Increment', { key, delta: 1, requestId: `copy-${r}` }),
          ),
        );
        const values = (await Promise.all(sent)).map((res) => res.value);
        expect(new Set(values), `request copy-${r}: one outcome for all six copies`).to.deep.equal(
          new Set([r]),
        );
      }
    } finally {
      for (const c of clients) c.close();
    }
    expect(await counterValue(t.address('n1'), key, 3)).to.equal(5);
  });

  it('answers a retried request id with its first outcome, also after its coordinator died', async () => {
    const key = 'retried';
    const [coordinator, ...others] = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes }).preferenceList(
      key,
      3,
    );
    const at = (id: string) => new UnaryClient(t.address(id), CALL_DEADLINE_MS);
    const incr = async (id: string, requestId: string) => {
      const c = at(id);
      try {
        return (await c.cache<{ value: number }>('Increment', { key, delta: 5, requestId })).value;
      } finally {
        c.close();
      }
    };
    expect(await incr(coordinator!, 'r-1')).to.equal(5);
    expect(await incr(others[0]!, 'r-1'), 'the same request through another node').to.equal(5);
    expect(await incr(others[1]!, 'r-2')).to.equal(10);
    await t.cluster.kill(coordinator!, 'SIGKILL');
    expect(await incr(others[0]!, 'r-2'), 'retried after its coordinator died').to.equal(10);
    expect(await incr(others[1]!, 'r-3')).to.equal(15);
    expect(await counterValue(t.address(others[0]!), key, 2)).to.equal(15);
  });

  // Two coordinators at once: a paused coordinator is declared dead and the next replica takes its keys;
  // resumed, it goes on coordinating the calls it had queued before the others see it back. On a74daf5
  // both applied increments on their own reads, and acknowledged increments were lost.
  it('count every acknowledged increment once when the coordinator is paused past its death and resumes, whichever node thought it coordinated', async () => {
    const key = 'hits-resumed';
    const coordinator = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes }).preferenceList(key, 3)[0]!;
    const others = t.config.nodes.filter((n) => n.id !== coordinator).map((n) => n.address);
    expect(await incrementAt(t.address(coordinator), key, 5, CALL_DEADLINE_MS)).to.deep.equal({
      ok: 5,
      unknown: 0,
      failed: 0,
    });
    const tally: Tally = { ok: 5, unknown: 0, failed: 0 };
    let running = true;
    const loop = async (address: string) => {
      while (running) {
        const one = await incrementAt(address, key, 1, 8000);
        tally.ok += one.ok;
        tally.unknown += one.unknown;
        tally.failed += one.failed;
      }
    };
    const loops: Promise<void>[] = [];
    const progress = async (what: string) => {
      const from = tally.ok;
      await until(what, () => tally.ok >= from + 20, 30_000);
    };
    void t.cluster.kill(coordinator, 'SIGSTOP');
    try {
      // Calls to the paused node queue up in its socket and run as soon as it resumes.
      loops.push(...t.config.nodes.flatMap((n) => Array.from({ length: 6 }, () => loop(n.address))));
      await until(
        `the others hold ${coordinator} dead`,
        () => allHold(others, coordinator, MemberStateWire.DEAD),
        20_000,
      );
      await progress(`increments acknowledged by the others with ${coordinator} dead`);
      void t.cluster.kill(coordinator, 'SIGCONT');
      await until(
        `the others hold ${coordinator} alive again`,
        () => allHold(others, coordinator, MemberStateWire.ALIVE),
        20_000,
      );
      await progress(`increments acknowledged with ${coordinator} back`);
    } finally {
      void t.cluster.kill(coordinator, 'SIGCONT');
      running = false;
      await Promise.all(loops);
    }
    const value = await counterValue(t.address(coordinator), key, 3);
    expect(tally.failed, 'refused calls').to.equal(0);
    expect(value, `ok ${tally.ok}, unknown ${tally.unknown}`).to.be.within(
      tally.ok,
      tally.ok + tally.unknown,
    );
  });

  it("count each once when the key's coordinator is SIGKILLed in the middle", async () => {
    const key = 'hits-killed';
    const coordinator = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes }).preferenceList(key, 3)[0]!;
    const survivors = t.config.nodes.filter((n) => n.id !== coordinator).map((n) => n.address);
    // Killed at the 50th acknowledgment, with 20 more calls sent to it at that moment. The 400 sent
    // to it at first are not enough to be sure of calls in flight at the kill: on a busy machine
    // this process read the 50th reply after the node had answered all of its 400 (CI).
    let cutOff: Promise<Tally> | undefined;
    const tally = await incrementEverywhere(t.seeds, key, 400, ({ ok }) => {
      if (ok < 50 || cutOff) return;
      cutOff = incrementEverywhere([t.address(coordinator)], key, 20);
      void t.cluster.kill(coordinator, 'SIGKILL');
    });
    const last = await cutOff!;
    tally.ok += last.ok;
    tally.unknown += last.unknown;
    tally.failed += last.failed;
    expect(tally.failed, 'refused calls').to.equal(0);
    expect(tally.unknown, 'calls cut off by the kill (it came mid-load)').to.be.above(0);
    const value = await counterValue(survivors[0]!, key, 2);
    expect(value, `ok ${tally.ok}, unknown ${tally.unknown}`).to.be.within(
      tally.ok,
      tally.ok + tally.unknown,
    );
  });
});

/** Whether the process of node `id` is stopped (SIGSTOP took effect): 'T' in /proc/PID/stat. */
function isPaused(cluster: LocalCluster, id: string): boolean {
  const stat = readFileSync(`/proc/${cluster.pid(id)}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/** How `observer` holds `member` in its membership (a MemberStateWire value). */
async function stateOf(address: string, member: string): Promise<number | undefined> {
  const c = new UnaryClient(address, 3000);
  try {
    const topo = await c.cluster<TopologyResponseMsg>('Topology', {});
    return topo.members.find((m) => m.id === member)?.state;
  } finally {
    c.close();
  }
}

/** Whether every node at `addresses` holds `member` in `state`. */
async function allHold(addresses: string[], member: string, state: number): Promise<boolean> {
  const states = await Promise.all(addresses.map((a) => stateOf(a, member)));
  return states.every((s) => s === state);
}

// A paused replica stays suspected, never dead, for the whole test (suspicion 60 s; TestCluster has
// no gossip option, so the LocalCluster is started here): a coordinator that waited for it could not
// be rescued by failure detection skipping it, and its calls would fail at their deadline.
describe('increments with one replica of three paused (N=3, W=2)', function () {
  this.timeout(90_000);
  let cluster: LocalCluster;
  let vnodes: number;
  const address = (id: string) => cluster.node(id).address;

  before(async () => {
    const config = await testConfig({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
    config.gossip = { ...config.gossip, suspicionTimeoutMs: 60_000 };
    vnodes = config.vnodes;
    cluster = new LocalCluster(config);
    await cluster.start();
  });
  after(async () => {
    for (const id of ['n1', 'n2', 'n3']) void cluster?.kill(id, 'SIGCONT');
    await cluster?.stop();
  });

  it('do not wait for the paused replica beyond the ones they need', async () => {
    const key = 'paused-replica';
    const [coordinator, , last] = new Ring(['n1', 'n2', 'n3'], { vnodes }).preferenceList(key, 3);
    // Warm up first: the coordinator's streams to both replicas are open when one of them stops (a
    // stream that never connected fails at once, which would hide the wait).
    expect(await incrementAt(address(coordinator!), key, 5, CALL_DEADLINE_MS)).to.deep.equal({
      ok: 5,
      unknown: 0,
      failed: 0,
    });
    void cluster.kill(last!, 'SIGSTOP');
    try {
      await until(`${last} paused`, () => isPaused(cluster, last!));
      const tally = await incrementAt(address(coordinator!), key, 50, CALL_DEADLINE_MS);
      expect(tally, 'with one of three replicas paused').to.deep.equal({ ok: 50, unknown: 0, failed: 0 });
      expect(isPaused(cluster, last!), `${last} still paused when the last increment was answered`).to.equal(
        true,
      );
      expect(await stateOf(address(coordinator!), last!), `${last} as the coordinator holds it`).to.not.equal(
        MemberStateWire.DEAD,
      );
    } finally {
      void cluster.kill(last!, 'SIGCONT');
    }
    expect(await counterValue(address(coordinator!), key, 2)).to.equal(55);
  });
});

// The simulator's 'coordinator-failover' (seed 9 at a74daf5) on real processes: with W=3 a restarted
// coordinator reads only its own copy before it applies, while the others, not seeing it back yet,
// still coordinate its keys on theirs.
describe('increments while the coordinator restarts, at W=3 (issue 11 §1)', function () {
  this.timeout(120_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 3, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('count every acknowledged increment once across the restart', async () => {
    const key = 'hits-restarted';
    const coordinator = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes }).preferenceList(key, 3)[0]!;
    const others = t.config.nodes.filter((n) => n.id !== coordinator).map((n) => n.address);
    const tally: Tally = { ok: 0, unknown: 0, failed: 0 };
    let running = true;
    const loop = async (address: string) => {
      while (running) {
        const one = await incrementAt(address, key, 1, 3000);
        tally.ok += one.ok;
        tally.unknown += one.unknown;
        tally.failed += one.failed;
        if (one.ok === 0) await new Promise((r) => setTimeout(r, 20)); // a refused call: no busy loop
      }
    };
    const loops = t.config.nodes.flatMap((n) => Array.from({ length: 6 }, () => loop(n.address)));
    try {
      await until('increments acknowledged before the kill', () => tally.ok >= 50, 30_000);
      await t.cluster.kill(coordinator, 'SIGKILL');
      await t.cluster.startNode(coordinator);
      // W=3: nothing is acknowledged while the coordinator is down; these come once it is back.
      const before = tally.ok;
      await until(
        `the others hold ${coordinator} alive again`,
        () => allHold(others, coordinator, MemberStateWire.ALIVE),
        20_000,
      );
      await until(`increments acknowledged after the restart`, () => tally.ok >= before + 50, 30_000);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const value = await counterValue(t.address(coordinator), key, 3);
    expect(value, `ok ${tally.ok}, unknown ${tally.unknown}, refused ${tally.failed}`).to.be.within(
      tally.ok,
      tally.ok + tally.unknown + tally.failed,
    );
  });
});

// A replica remembers the requests it accepted only in memory. On 3fd21bb a restart lost them for
// good (the catch-up copied the records alone), so once every node had restarted, one at a time, a
// retry of an acknowledged increment was applied again.
describe('a retried increment after every node restarted, one at a time (N=3, W=2, R=2)', function () {
  this.timeout(120_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
  });
  after(() => t?.stop());

  it('is answered with its first outcome at every node, and counted once', async () => {
    const key = 'retried-after-restarts';
    const ids = ['n1', 'n2', 'n3'];
    const incr = async (id: string, requestId: string) => {
      const c = new UnaryClient(t.address(id), CALL_DEADLINE_MS);
      try {
        return (await c.cache<{ value: number }>('Increment', { key, delta: 5, requestId })).value;
      } finally {
        c.close();
      }
    };
    expect(await incr('n1', 'before-restarts')).to.equal(5);
    for (const id of ids) {
      await t.cluster.stopNode(id);
      // Resolves once the node serves: its catch-up from the two others has ended.
      await t.cluster.startNode(id);
      const others = ids.filter((o) => o !== id).map((o) => t.address(o));
      await until(
        `the others hold ${id} alive again`,
        () => allHold(others, id, MemberStateWire.ALIVE),
        30_000,
      );
    }
    for (const id of ids) {
      expect(await incr(id, 'before-restarts'), `the retry through ${id}`).to.equal(5);
    }
    expect(await counterValue(t.address('n1'), key, 3)).to.equal(5);
  });
});

/** `count` increments of `key` at one node, one after the other, each with a `deadlineMs` budget. */
async function incrementAt(address: string, key: string, count: number, deadlineMs: number): Promise<Tally> {
  const tally: Tally = { ok: 0, unknown: 0, failed: 0 };
  const c = new UnaryClient(address, deadlineMs);
  try {
    for (let i = 0; i < count; i++) {
      await c.cache('Increment', { key, delta: 1 }).then(
        () => tally.ok++,
        (err: ServiceError) =>
          err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED
            ? tally.unknown++
            : tally.failed++,
      );
    }
  } finally {
    c.close();
  }
  return tally;
}
