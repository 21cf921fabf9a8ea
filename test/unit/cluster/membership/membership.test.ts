import { expect } from 'chai';
import { pino } from 'pino';
import { DEFAULT_GOSSIP_CONFIG } from '../../../../src/cluster/membership/config';
import { Membership } from '../../../../src/cluster/membership/membership';
import { probeBudgetMs, worstCaseDetectionMs } from '../../../../src/cluster/membership/suspicion';
import type { MemberState, MemberUpdate } from '../../../../src/cluster/membership/types';
import { FakeCluster, FakeScheduler } from './fake-cluster';

interface Change {
  observer: string;
  id: string;
  from: MemberState;
  to: MemberState;
  atMs: number;
  incarnation: number;
}

/** Records every onChange of every current node (call again after a restart). */
function recordChanges(cluster: FakeCluster, ids: string[], into: Change[]): void {
  for (const observer of ids) {
    cluster.node(observer).onChange((m, from, to) => {
      into.push({ observer, id: m.id, from, to, atMs: cluster.scheduler.now(), incarnation: m.incarnation });
    });
  }
}

/** Advances the fake clock in small steps until `done()`; returns the virtual ms it took. */
async function advanceUntil(
  cluster: FakeCluster,
  done: () => boolean,
  maxMs: number,
  stepMs = 10,
): Promise<number> {
  const startMs = cluster.scheduler.now();
  while (!done()) {
    if (cluster.scheduler.now() - startMs > maxMs)
      throw new Error(`condition not met within ${maxMs} virtual ms`);
    await cluster.scheduler.advance(stepMs);
  }
  return cluster.scheduler.now() - startMs;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const all = (states: (MemberState | undefined)[], s: MemberState) => states.every((x) => x === s);

describe('Membership in a cluster wired in memory', () => {
  let cluster: FakeCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('suspects a killed member, then every survivor holds it dead within probe and suspicion time', async () => {
    const names = ids(5);
    const survivors = names.slice(0, 4);
    cluster = new FakeCluster(names);
    cluster.start();
    await cluster.scheduler.advance(2000);
    const changes: Change[] = [];
    recordChanges(cluster, survivors, changes);

    await cluster.kill('n5');
    const c = cluster;
    const tookMs = await advanceUntil(cluster, () => all(c.statesOf('n5', survivors), 'dead'), 10_000);

    const about = changes.filter((ch) => ch.id === 'n5');
    const firstSuspect = about.find((ch) => ch.to === 'suspect');
    const firstDead = about.find((ch) => ch.to === 'dead');
    expect(firstSuspect, 'someone suspected n5').to.not.equal(undefined);
    expect(firstDead!.atMs).to.be.at.least(firstSuspect!.atMs + DEFAULT_GOSSIP_CONFIG.suspicionTimeoutMs);
    expect(firstDead!.atMs - (cluster.scheduler.now() - tookMs)).to.be.at.most(
      worstCaseDetectionMs(5, cluster.config),
    );
    // Everyone else learns by gossip or by its own suspicion clock, at most one more suspicion timeout later.
    expect(tookMs).to.be.at.most(
      worstCaseDetectionMs(5, cluster.config) + DEFAULT_GOSSIP_CONFIG.suspicionTimeoutMs,
    );
    expect(about.filter((ch) => ch.to === 'alive')).to.deep.equal([]);
  });

  it('detects a killed member of a 3-node cluster within about 3 s with the default config', async () => {
    const names = ids(3);
    const detectionMs: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const c = new FakeCluster(names, { seed });
      cluster = c;
      c.start();
      await c.scheduler.advance(1000 + seed * 77); // kill at different points of the probe cycle
      await c.kill('n3');
      detectionMs.push(await advanceUntil(c, () => all(c.statesOf('n3', ['n1', 'n2']), 'dead'), 10_000));
      await c.stop();
    }
    expect(Math.max(...detectionMs)).to.be.at.most(worstCaseDetectionMs(3, DEFAULT_GOSSIP_CONFIG));
    expect(worstCaseDetectionMs(3, DEFAULT_GOSSIP_CONFIG)).to.equal(3100);
  });

  it('keeps a member alive that was paused for less than the suspicion timeout: it refutes', async () => {
    const names = ids(3);
    cluster = new FakeCluster(names);
    const c = cluster;
    c.start();
    await c.scheduler.advance(2000);
    const changes: Change[] = [];
    recordChanges(c, names, changes);

    c.pause('n3');
    await advanceUntil(c, () => c.statesOf('n3', ['n1', 'n2']).includes('suspect'), 5000);
    await c.scheduler.advance(DEFAULT_GOSSIP_CONFIG.suspicionTimeoutMs / 3);
    c.resume('n3');
    await c.scheduler.advance(5000);

    expect(changes.filter((ch) => ch.id === 'n3' && ch.to === 'dead')).to.deep.equal([]);
    expect(c.statesOf('n3', ['n1', 'n2'])).to.deep.equal(['alive', 'alive']);
    const refutation = changes.find((ch) => ch.observer === 'n3' && ch.id === 'n3');
    expect(refutation).to.include({ from: 'alive', to: 'alive' });
    expect(
      c
        .node('n1')
        .members()
        .find((m) => m.id === 'n3')!.incarnation,
    ).to.be.greaterThan(0);
  });

  it('declares a member paused longer than the suspicion timeout dead, and alive again once it answers', async () => {
    const names = ids(3);
    cluster = new FakeCluster(names);
    const c = cluster;
    c.start();
    await c.scheduler.advance(2000);
    c.pause('n3');
    await advanceUntil(c, () => all(c.statesOf('n3', ['n1', 'n2']), 'dead'), 10_000);
    const deadIncarnation = c
      .node('n1')
      .members()
      .find((m) => m.id === 'n3')!.incarnation;

    c.resume('n3');
    await advanceUntil(c, () => all(c.statesOf('n3', ['n1', 'n2']), 'alive'), 5000);
    expect(
      c
        .node('n1')
        .members()
        .find((m) => m.id === 'n3')!.incarnation,
    ).to.be.greaterThan(deadIncarnation);
    expect(c.node('n3').state('n3')).to.equal('alive');
  });

  it('accepts a restarted node with empty state: its clock-based incarnation outbids the dead one', async () => {
    const names = ids(4);
    cluster = new FakeCluster(names);
    const c = cluster;
    c.start();
    await c.scheduler.advance(2000);
    await c.kill('n4');
    await advanceUntil(c, () => all(c.statesOf('n4', ['n1', 'n2', 'n3']), 'dead'), 10_000);

    c.restart('n4');
    const tookMs = await advanceUntil(c, () => all(c.statesOf('n4', ['n1', 'n2', 'n3']), 'alive'), 5000);
    expect(tookMs).to.be.at.most(3 * DEFAULT_GOSSIP_CONFIG.probeIntervalMs);
    expect(c.statesOf('n1', ['n4']), 'the newcomer learns the others from gossip').to.deep.equal(['alive']);
  });

  it('brings back a restarted node that never gossips first, through the occasional probe of dead members', async () => {
    const names = ids(3);
    cluster = new FakeCluster(names);
    const c = cluster;
    c.start();
    await c.scheduler.advance(2000);
    await c.kill('n3');
    await advanceUntil(c, () => all(c.statesOf('n3', ['n1', 'n2']), 'dead'), 10_000);
    await c.scheduler.advance(30_000); // long enough that the death is no longer gossiped

    // Incarnation 0 is below what the others hold, and the node never probes: only a dead probe reaches it.
    c.restart('n3', { initialIncarnation: 0, start: false });
    await advanceUntil(c, () => all(c.statesOf('n3', ['n1', 'n2']), 'alive'), 10_000);
    expect(c.node('n3').state('n3')).to.equal('alive');
  });

  it('does not suspect a member it cannot reach directly when another member can (indirect probe)', async () => {
    const names = ids(3);
    cluster = new FakeCluster(names);
    const c = cluster;
    const changes: Change[] = [];
    recordChanges(c, names, changes);
    c.cut('n1', 'n3');
    c.start();
    await c.scheduler.advance(20_000);
    expect(changes.filter((ch) => ch.to !== 'alive')).to.deep.equal([]);
  });

  it('spreads a leave to every member by piggybacking, and the member stays left', async () => {
    const names = ids(8);
    cluster = new FakeCluster(names);
    const c = cluster;
    c.start();
    await c.scheduler.advance(1000);
    c.node('n1').leave();
    const others = names.slice(1);
    await advanceUntil(c, () => all(c.statesOf('n1', others), 'left'), 10_000);
    await c.node('n1').stop();
    await c.scheduler.advance(10_000);
    expect(c.statesOf('n1', others).every((s) => s === 'left')).to.equal(true);
  });

  it('stops without leaving timers, even with probes in flight, and stop() is idempotent', async () => {
    cluster = new FakeCluster(ids(4));
    const c = cluster;
    c.start();
    await c.scheduler.advance(1500);
    c.pause('n4'); // probes of n4 hang until their deadline
    await c.scheduler.advance(DEFAULT_GOSSIP_CONFIG.probeIntervalMs + probeBudgetMs(c.config) / 2);
    await c.stop();
    await c.stop();
    expect(c.scheduler.pendingTimers).to.equal(0);
  });
});

describe('Membership handling messages', () => {
  function single(scheduler = new FakeScheduler()): Membership {
    return new Membership({
      selfId: 'a',
      memberIds: ['a', 'b', 'c'],
      config: DEFAULT_GOSSIP_CONFIG,
      transport: {
        ping: () => Promise.reject(new Error('no network')),
        pingReq: () => Promise.reject(new Error('no network')),
      },
      logger: pino({ level: 'silent' }),
      scheduler,
      initialIncarnation: 3,
    });
  }

  it('refutes a suspicion about itself with max(own, received) + 1, sent first', () => {
    const m = single();
    const changes: [string, MemberState, MemberState, number][] = [];
    m.onChange((s, from, to) => changes.push([s.id, from, to, s.incarnation]));
    const out = m.handlePing('b', [{ id: 'a', state: 'suspect', incarnation: 7 }]);
    expect(out[0]).to.deep.equal({ id: 'a', state: 'alive', incarnation: 8 });
    expect(changes).to.deep.equal([['a', 'alive', 'alive', 8]]);
    expect(m.state('a')).to.equal('alive');
  });

  it('ignores updates with an old incarnation', () => {
    const m = single();
    m.handlePing('b', [{ id: 'c', state: 'alive', incarnation: 5 }]);
    const stale: MemberUpdate[] = [
      { id: 'c', state: 'suspect', incarnation: 4 },
      { id: 'c', state: 'dead', incarnation: 4 },
      { id: 'c', state: 'alive', incarnation: 5 },
    ];
    m.handlePing('b', stale);
    expect(m.members().find((s) => s.id === 'c')).to.include({ state: 'alive', incarnation: 5 });
    m.handlePing('b', [{ id: 'c', state: 'dead', incarnation: 5 }]);
    m.handlePing('b', [{ id: 'c', state: 'alive', incarnation: 5 }]);
    expect(m.state('c')).to.equal('dead');
    expect(m.isAlive('c')).to.equal(false);
  });

  it('adds a member it first hears of as alive, reported as a change from left', () => {
    const m = single();
    const changes: [string, MemberState, MemberState][] = [];
    const off = m.onChange((s, from, to) => changes.push([s.id, from, to]));
    m.handlePing('b', [
      { id: 'd', state: 'alive', incarnation: 1 },
      { id: 'e', state: 'dead', incarnation: 1 },
    ]);
    off();
    m.handlePing('b', [{ id: 'd', state: 'suspect', incarnation: 1 }]);
    expect(changes).to.deep.equal([['d', 'left', 'alive']]);
    expect(m.state('e')).to.equal(undefined);
    expect(m.isAlive('d')).to.equal(true);
  });

  it('tells a peer it holds as dead so, first in its answer', () => {
    const m = single();
    m.handlePing('b', [{ id: 'c', state: 'dead', incarnation: 2 }]);
    for (let i = 0; i < 10; i++) m.handlePing('b', []); // the death is no longer in the broadcast queue
    expect(m.handlePing('b', [])).to.deep.equal([]);
    expect(m.handlePing('c', [])[0]).to.deep.equal({ id: 'c', state: 'dead', incarnation: 2 });
  });

  it('answers a ping request with no ack when the target does not answer', async () => {
    const m = single();
    const out = await m.handlePingReq('b', 'c', []);
    expect(out.ack).to.equal(false);
  });

  it('broadcasts left after leave() and does not refute a left about itself', () => {
    const m = single();
    m.leave();
    const out = m.handlePing('b', [{ id: 'a', state: 'left', incarnation: 3 }]);
    expect(out[0]).to.deep.equal({ id: 'a', state: 'left', incarnation: 3 });
    expect(m.state('a')).to.equal('left');
  });
});
