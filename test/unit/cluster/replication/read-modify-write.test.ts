import { expect } from 'chai';
import type { Operation, Outcome } from '../../../../src/cluster/replication/operation';
import { RingCacheError } from '../../../../src/errors';
import { formatVersion, type Version } from '../../../../src/store/version';
import { SimCluster } from '../../../sim/sim-cluster';

/**
 * A read-modify-write sent again with its request id (the SDK's retry through another replica after
 * a timeout, or a user's) comes back with its first outcome, version included, and writes nothing:
 * a retried cas that reported version v while the key moved on to v' would make the caller's next
 * cas on v fail VERSION_CONFLICT, and a retried touch would stream a change that never happened.
 */
describe('a read-modify-write retried with its request id', () => {
  let cluster: SimCluster;

  beforeEach(async () => {
    cluster = new SimCluster({ seed: 11, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
  });

  afterEach(async () => {
    void cluster.stopAll();
    await cluster.time.runUntil(cluster.time.now() + 20_000);
  });

  /** Runs `op` at node `via` in virtual time until it settles; its outcome. */
  async function run(via: string, op: Operation): Promise<Outcome> {
    let outcome: Outcome | undefined;
    void Promise.resolve(
      cluster.core(via)!.execute(op, { forwarded: false, deadlineMs: cluster.time.now() + 5000 }),
    ).then((o) => (outcome = o));
    await cluster.time.runUntil(cluster.time.now() + 2000);
    if (outcome === undefined) throw new Error(`${op.kind} at ${via} did not settle`);
    if (outcome instanceof RingCacheError) throw outcome;
    return outcome;
  }

  /** The key's version on every node, formatted. */
  function versions(key: string): string[] {
    return cluster.ids().map((id) => {
      const v = cluster.core(id)!.store.versionOf(key);
      return v ? formatVersion(v) : '-';
    });
  }

  const value = (s: string) => Buffer.from(s);

  /** Sets key 'k' to `v` at ALL; the version it was given. */
  async function setEverywhere(v: string): Promise<Version> {
    const set = await run('n1', {
      kind: 'set',
      key: 'k',
      value: value(v),
      flags: 1,
      ttlMs: 0,
      mode: 'always',
      consistency: 'all',
    });
    if (set instanceof RingCacheError || set.kind !== 'set' || !set.version) throw new Error('set failed');
    return set.version;
  }

  function versionOf(outcome: Outcome): string {
    if (outcome instanceof RingCacheError || outcome.kind !== 'cas')
      throw new Error(`not a cas: ${JSON.stringify(outcome)}`);
    return formatVersion(outcome.version);
  }

  it('answers a cas with the version it first reported, everywhere, and writes nothing new', async () => {
    const expected = await setEverywhere('a');
    const cas: Operation = {
      kind: 'cas',
      key: 'k',
      expected,
      value: value('b'),
      flags: 1,
      ttlMs: 0,
      consistency: 'default',
      requestId: 'cas-1',
    };
    const firstVersion = versionOf(await run('n1', cas));
    const after = versions('k');
    expect(after, 'every replica at the version cas reported').to.deep.equal([
      firstVersion,
      firstVersion,
      firstVersion,
    ]);
    for (const via of ['n1', 'n2', 'n3']) {
      expect(versionOf(await run(via, cas)), `retry through ${via}`).to.equal(firstVersion);
      expect(versions('k'), `record after the retry through ${via}`).to.deep.equal(after);
    }
  });

  // A copy of a request (a duplicated forward, a caller's retry) that reaches the coordinator while
  // the round applying it is still running rides the next round. On 3ce120c that round prepared as
  // for a new request (the copy was looked up only on arrival), so too few replicas answered to show
  // the request known at W, and it accepted the record again at a new version: the key ended at a
  // version the caller was never told (the simulator's 'duplicates' scenario, seed 48).
  it('answers a copy that arrived during the round applying it with the same version, and writes nothing new', async () => {
    const cas: Operation = {
      kind: 'cas',
      key: 'k',
      expected: await setEverywhere('a'),
      value: value('b'),
      flags: 1,
      ttlMs: 0,
      consistency: 'all',
      requestId: 'cas-copies',
    };
    const coordinator = cluster
      .ids()
      .find((id) => cluster.core(id)!.view.ring().preferenceList('k', 3)[0] === id)!;
    const outcomes: Outcome[] = [];
    const ctx = () => ({ forwarded: true, deadlineMs: cluster.time.now() + 5000 });
    void Promise.resolve(cluster.core(coordinator)!.execute(cas, ctx())).then((o) => outcomes.push(o));
    await cluster.time.runUntil(cluster.time.now() + 0.3);
    void Promise.resolve(cluster.core(coordinator)!.execute(cas, ctx())).then((o) => outcomes.push(o));
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes, 'both copies answered').to.have.length(2);
    const [first, second] = outcomes.map(versionOf);
    expect(second, 'the copy').to.equal(first);
    expect(versions('k'), 'every replica at the version both were told').to.deep.equal([first, first, first]);
  });

  // An outcome that wrote nothing is shared with the other replicas, so that a retry another node
  // coordinates gets it too; a large record is not sent for it (a lease is small).
  for (const [size, shared] of [
    [8, true],
    [32 * 1024, false],
  ] as const) {
    it(`${shared ? 'shares' : 'keeps to itself'} the outcome of an ifAbsent that found a ${size}-byte value`, async () => {
      await run('n1', {
        kind: 'set',
        key: 'k',
        value: Buffer.alloc(size, 0x61),
        flags: 1,
        ttlMs: 0,
        mode: 'always',
        consistency: 'all',
      });
      const coordinator = cluster
        .ids()
        .find((id) => cluster.core(id)!.view.ring().preferenceList('k', 3)[0] === id)!;
      const refused = await run(coordinator, {
        kind: 'set',
        key: 'k',
        value: value('lease'),
        flags: 1,
        ttlMs: 0,
        mode: 'ifAbsent',
        consistency: 'default',
        requestId: 'lease-1',
      });
      expect(refused).to.deep.include({ kind: 'set', stored: false });
      const now = cluster.time.now();
      const knownAt = cluster.ids().filter((id) => cluster.core(id)!.requests.get('lease-1', 'k', now));
      expect(knownAt).to.have.members(shared ? cluster.ids() : [coordinator]);
    });
  }

  // A round whose accepts reached no other replica (W=2) keeps its record here and tells its caller
  // QUORUM_NOT_MET. The retry finds the request known here only, and completes the record at its
  // own ballot, as CASPaxos does: on 89a7b72 it then answered the first round's version, which no
  // replica held any more, so the caller's next cas on it conflicted.
  it('answers a retry that completed its record with the version the record ended at', async () => {
    const expected = await setEverywhere('a');
    const coordinator = cluster
      .ids()
      .find((id) => cluster.core(id)!.view.ring().preferenceList('k', 3)[0] === id)!;
    const transport = cluster.core(coordinator)!.view.transport;
    const replicate = transport.replicate.bind(transport);
    let dropping = true;
    transport.replicate = (to, write, deadlineMs) =>
      dropping && write.key === 'k'
        ? Promise.resolve(new RingCacheError('UNAVAILABLE', `accept to ${to} lost`))
        : replicate(to, write, deadlineMs);
    const cas: Operation = {
      kind: 'cas',
      key: 'k',
      expected,
      value: value('b'),
      flags: 1,
      ttlMs: 0,
      consistency: 'default',
      requestId: 'cas-short',
    };
    let first: Outcome | undefined;
    const ctx = () => ({ forwarded: true, deadlineMs: cluster.time.now() + 5000 });
    void Promise.resolve(cluster.core(coordinator)!.execute(cas, ctx())).then((o) => (first = o));
    await cluster.time.runUntil(cluster.time.now() + 6000);
    expect(first, 'the round that missed its quorum').to.be.instanceOf(RingCacheError);
    dropping = false;
    const retried = versionOf(await run(coordinator, cas));
    await cluster.time.runUntil(cluster.time.now() + 5000);
    expect(versions('k'), 'every replica at the version the retry reported').to.deep.equal([
      retried,
      retried,
      retried,
    ]);
  });

  /**
   * 'first' takes a round at the coordinator of 'c' alone; 'a' and 'b' arrive while it runs and
   * share the next. Every accept is lost: the coordinator alone holds the counter, at 3, and each
   * call misses its quorum. Then accepts go through again, for the retries.
   */
  async function sharedRoundLost() {
    const coordinator = cluster
      .ids()
      .find((id) => cluster.core(id)!.view.ring().preferenceList('c', 3)[0] === id)!;
    const transport = cluster.core(coordinator)!.view.transport;
    const replicate = transport.replicate.bind(transport);
    let dropping = true;
    transport.replicate = (to, write, deadlineMs) =>
      dropping && write.key === 'c'
        ? Promise.resolve(new RingCacheError('UNAVAILABLE', `accept to ${to} lost`))
        : replicate(to, write, deadlineMs);
    const incr = (requestId: string): Operation => ({
      kind: 'incr',
      key: 'c',
      delta: 1,
      initial: 0,
      ttlMs: 0,
      consistency: 'default',
      requestId,
    });
    const outcomes = new Map<string, Outcome>();
    /** Sends increment `id` (again) through `via`, coordinated there; its outcome lands in `outcomes`. */
    const start = (id: string, via = coordinator) => {
      outcomes.delete(id);
      const deadlineMs = cluster.time.now() + 5000;
      void Promise.resolve(cluster.core(via)!.execute(incr(id), { forwarded: true, deadlineMs })).then((o) =>
        outcomes.set(id, o),
      );
    };
    start('first');
    start('a');
    start('b');
    await cluster.time.runUntil(cluster.time.now() + 6000);
    for (const id of ['first', 'a', 'b']) expect(outcomes.get(id), id).to.be.instanceOf(RingCacheError);
    dropping = false;
    return { coordinator, outcomes, start };
  }

  it('completes a retry of any write its round applied, not only the last one, once', async () => {
    const { outcomes, start } = await sharedRoundLost();
    // The retry of 'a', which was not its round's last write: its record is the one held, so the
    // round completes it, and answers 'a' with the value it first came to. It was answered "cannot
    // be told" (QUORUM_NOT_MET), as only the last write's outcome carries the record's version.
    start('a');
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes.get('a'), "a's retry").to.deep.include({ kind: 'incr', value: 2 });
    // Its completion carried the other requests of that record: their retries apply nothing again.
    for (const id of ['b', 'first']) start(id);
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes.get('b'), "b's retry").to.deep.include({ kind: 'incr', value: 3 });
    expect(outcomes.get('first'), "first's retry").to.not.deep.include({ kind: 'incr', value: 4 });
    start('next');
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes.get('next'), 'one more increment').to.deep.include({ kind: 'incr', value: 4 });
  });

  // A round's calls are answered only once its batch's W replicas took it, but a retry is judged by
  // its own W: a call at the default W whose round also carried one at ALL is answered as applied
  // once two replicas remember it. Completing the record again for the retry of the call at ALL then
  // gave it a version the other call's caller was never told.
  it("leaves the record of a shared round whose other call's own W was met as it is, at ALL", async () => {
    const coordinator = cluster
      .ids()
      .find((id) => cluster.core(id)!.view.ring().preferenceList('c', 3)[0] === id)!;
    const third = cluster.core(coordinator)!.view.ring().preferenceList('c', 3)[2]!;
    const transport = cluster.core(coordinator)!.view.transport;
    const replicate = transport.replicate.bind(transport);
    let dropping = true;
    transport.replicate = (to, write, deadlineMs) =>
      dropping && write.key === 'c' && to === third
        ? Promise.resolve(new RingCacheError('UNAVAILABLE', `accept to ${to} lost`))
        : replicate(to, write, deadlineMs);
    const incr = (requestId: string, consistency: Operation['consistency']): Operation => ({
      kind: 'incr',
      key: 'c',
      delta: 1,
      initial: 0,
      ttlMs: 0,
      consistency,
      requestId,
    });
    const outcomes = new Map<string, Outcome>();
    const start = (id: string, consistency: Operation['consistency']) => {
      outcomes.delete(id);
      const deadlineMs = cluster.time.now() + 5000;
      void Promise.resolve(
        cluster.core(coordinator)!.execute(incr(id, consistency), { forwarded: true, deadlineMs }),
      ).then((o) => outcomes.set(id, o));
    };
    // 'first' takes a round; 'all' and 'last' arrive while it runs and share the next, which two of
    // the three replicas take: short of the W of 3 the call at ALL makes it ask for.
    start('first', 'default');
    start('all', 'all');
    start('last', 'default');
    await cluster.time.runUntil(cluster.time.now() + 6000);
    expect(outcomes.get('first'), 'first').to.deep.include({ kind: 'incr', value: 1 });
    for (const id of ['all', 'last']) expect(outcomes.get(id), id).to.be.instanceOf(RingCacheError);
    dropping = false;
    start('last', 'default');
    await cluster.time.runUntil(cluster.time.now() + 2000);
    const last = outcomes.get('last');
    expect(last, "last's retry: two replicas remember it").to.deep.include({ kind: 'incr', value: 3 });
    const told = last && !(last instanceof RingCacheError) && 'version' in last ? last.version : undefined;
    start('all', 'all');
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes.get('all'), "all's retry: its outcome cannot be told").to.be.instanceOf(RingCacheError);
    expect(versions('c')[cluster.ids().indexOf(coordinator)], 'the record').to.equal(formatVersion(told!));
  });

  it('applies no write of a shared round again when another node, which took none of it, is retried', async () => {
    const { coordinator, outcomes, start } = await sharedRoundLost();
    // Another node coordinates what it is sent as forwarded, as when two nodes each take themselves
    // for the key's coordinator (a restart, a rolling upgrade).
    const other = cluster.ids().find((id) => id !== coordinator)!;
    // The last write's retry first, then the others', all at the other node. Its prepare reads the
    // coordinator's record and learns only of the requests it asks about: completing the record for
    // 'b' alone, it left 'a' and 'first' known to the coordinator only, and their retries, whose
    // prepares heard the other two replicas, counted them again (4 and 5). The third replica's
    // prepares are sent 50 ms late, so that the first prepare hears the coordinator first: one that
    // heard the third replica first (which holds nothing) wrote over the coordinator's record, which
    // no round had chosen, and the case was not tried.
    const third = cluster.ids().find((id) => id !== coordinator && id !== other)!;
    const transport = cluster.core(other)!.view.transport;
    const lookup = transport.lookup.bind(transport);
    transport.lookup = (to, key, prepare, deadlineMs) =>
      to === third
        ? new Promise((resolve) =>
            cluster.time.at(cluster.time.now() + 50, '<world>', () =>
              resolve(lookup(to, key, prepare, deadlineMs)),
            ),
          )
        : lookup(to, key, prepare, deadlineMs);
    for (const id of ['b', 'a', 'first']) {
      start(id, other);
      await cluster.time.runUntil(cluster.time.now() + 2000);
      const outcome = outcomes.get(id);
      if (outcome instanceof RingCacheError) continue;
      expect(outcome, `${id}'s retry`).to.deep.include({ kind: 'incr' });
      if (outcome?.kind === 'incr') expect(outcome.value, `${id}'s retry`).to.be.at.most(3);
    }
    start('next');
    await cluster.time.runUntil(cluster.time.now() + 2000);
    expect(outcomes.get('next'), 'one more increment').to.deep.include({ kind: 'incr', value: 4 });
  });

  it('answers a touch again without writing the key again', async () => {
    await run('n1', {
      kind: 'set',
      key: 't',
      value: value('a'),
      flags: 1,
      ttlMs: 60_000,
      mode: 'always',
      consistency: 'all',
    });
    const touch: Operation = {
      kind: 'touch',
      key: 't',
      ttlMs: 120_000,
      consistency: 'all',
      requestId: 'touch-1',
    };
    expect(await run('n2', touch)).to.deep.equal({ kind: 'touch', found: true });
    const after = versions('t');
    for (const via of ['n1', 'n2', 'n3']) {
      expect(await run(via, touch)).to.deep.equal({ kind: 'touch', found: true });
      expect(versions('t'), `record after the retry through ${via}`).to.deep.equal(after);
    }
  });
});

/**
 * Two nodes coordinating one counter at once (a restart, a false suspicion, two releases during an
 * upgrade): a round whose accept every other replica refuses, having promised the other node's higher
 * ballot, applied nothing anywhere. A retry of its request must apply it then, not answer the value
 * the lost round computed: that value was also the other round's, and the counter would end one short.
 */
describe('a read-modify-write whose round lost to another coordinator', () => {
  it('is applied by its retry, once: no two increments answer the same value', async () => {
    const cluster = new SimCluster({ seed: 12, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
    const incr = (requestId: string): Operation => ({
      kind: 'incr',
      key: 'c',
      delta: 1,
      initial: 0,
      ttlMs: 0,
      consistency: 'default',
      requestId,
    });
    const outcomes = new Map<string, Outcome>();
    const start = (via: string, id: string) => {
      const deadlineMs = cluster.time.now() + 5000;
      void Promise.resolve(cluster.core(via)!.execute(incr(id), { forwarded: true, deadlineMs })).then((o) =>
        outcomes.set(id, o),
      );
    };
    // n2's requests reach the others late: its prepare is granted, but by the time its accept
    // arrives, n1 has run a whole round at a higher ballot with n3.
    cluster.net.setFault('n2', 'n1', { dropRate: 0, extraDelayMs: 100, refuse: false });
    cluster.net.setFault('n2', 'n3', { dropRate: 0, extraDelayMs: 100, refuse: false });
    start('n2', 'lost');
    await cluster.time.runUntil(cluster.time.now() + 150);
    start('n1', 'won');
    await cluster.time.runUntil(cluster.time.now() + 1000);
    cluster.net.healAll();
    const won = outcomes.get('won');
    const lost = outcomes.get('lost');
    expect(won, 'the round at the higher ballot').to.deep.include({ kind: 'incr', value: 1 });
    expect(lost, 'the round whose accept was refused').to.be.instanceOf(RingCacheError);
    // The SDK's retry, through another replica.
    start('n1', 'lost');
    await cluster.time.runUntil(cluster.time.now() + 1000);
    expect(outcomes.get('lost'), 'the retry').to.deep.include({ kind: 'incr', value: 2 });
    start('n3', 'read');
    await cluster.time.runUntil(cluster.time.now() + 1000);
    expect(outcomes.get('read'), 'one more increment').to.deep.include({ kind: 'incr', value: 3 });
    void cluster.stopAll();
    await cluster.time.runUntil(cluster.time.now() + 20_000);
  });
});
