import { expect } from 'chai';
import type { ClusterView } from '../../../../src/cluster/cluster-view';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import {
  NewerRing,
  onAskedRing,
  type PeerTransport,
  type ReplicaWrite,
} from '../../../../src/cluster/peer-transport';
import { HintStore } from '../../../../src/cluster/recovery/hints';
import { BallotFence } from '../../../../src/cluster/replication/ballots';
import { Coordinator } from '../../../../src/cluster/replication/coordinator';
import type { Operation, Outcome } from '../../../../src/cluster/replication/operation';
import { RecordCopies } from '../../../../src/cluster/replication/record-copies';
import { RequestLog } from '../../../../src/cluster/replication/request-log';
import { RingCacheError } from '../../../../src/errors';
import { silentLogger } from '../../../../src/observability/logger';
import { Ring } from '../../../../src/ring/ring';
import type { StoreRecord } from '../../../../src/store/types';
import { makeStore } from '../../store/fake-clock';

const rec = (timestamp: number, node: string, text: string): StoreRecord => ({
  value: Buffer.from(text),
  flags: 0,
  version: { timestamp, node },
  expiresAtMs: 0,
  tombstone: false,
});

describe('an answer from a replica on a newer ring (onAskedRing)', () => {
  const copy = rec(1, 'n2', 'v');
  const refused = new RingCacheError('ABORTED', 'refused');
  const table: [string, unknown, number | undefined, number, 'as-is' | 'newer'][] = [
    ['a copy from the same ring', copy, 3, 3, 'as-is'],
    ['a copy from an older ring', copy, 3, 2, 'as-is'],
    ['a copy from a newer ring', copy, 3, 4, 'newer'],
    ['"none held" from a newer ring', undefined, 3, 4, 'newer'],
    ['an acknowledgement (undefined) from a newer ring', undefined, 1, 2, 'newer'],
    ['a call counted on no ring (repair, handoff)', copy, undefined, 4, 'as-is'],
    ['a call counted on no ring (epoch 0)', copy, 0, 4, 'as-is'],
    ['a replica that states no ring (a release before)', copy, 3, 0, 'as-is'],
    ['a failure from a newer ring', refused, 3, 4, 'as-is'],
  ];
  for (const [what, answer, asked, held, expected] of table) {
    it(`${expected === 'newer' ? 'does not count' : 'keeps'} ${what}`, () => {
      const out = onAskedRing(answer, asked, held, 'n2');
      if (expected === 'as-is') return expect(out).to.equal(answer);
      expect(out).to.be.instanceOf(NewerRing);
      const newer = out as NewerRing;
      expect([newer.nodeId, newer.epoch, newer.code]).to.deep.equal(['n2', held, 'UNAVAILABLE']);
    });
  }
});

/**
 * The coordinator of n1, whose ring (epoch 1: n1 n2 n3) is out of date: the others hold epoch 2
 * (n1 n3 n4), on which a write was acknowledged by n3 and n4. Every node holds every key (N = 3 of
 * 3), so a ring's members are the key's replicas. n3 answers late, so n2's answer is the first:
 * before the rule, its "none held" (a read) or its acknowledgement (a write) counted toward a
 * quorum of ring 1, and the read returned n1's old copy, the write was on n1 and n2 only.
 */
function setUp(opts: { fetchWorks: boolean }) {
  const { store } = makeStore({ nodeId: 'n1' });
  let ring = new Ring(['n1', 'n2', 'n3'], { vnodes: 16 });
  let epoch = 1;
  const acknowledged = rec(500, 'n4', 'new');
  const held: Record<string, StoreRecord | undefined> = { n2: undefined, n3: acknowledged, n4: acknowledged };
  const writes: { to: string; ringEpoch?: number }[] = [];
  const epochOf = () => 2;
  const late = <T>(to: string, v: T) =>
    new Promise<T>((resolve) => setTimeout(() => resolve(v), to === 'n3' ? 30 : 0));
  const transport = {
    read: (to: string, _key: string, _deadline: number, asked?: number) =>
      late(to, onAskedRing(held[to] && { key: 'k', record: held[to] }, asked, epochOf(), to)),
    replicate: (to: string, write: ReplicaWrite) => {
      writes.push({ to, ringEpoch: write.ringEpoch });
      held[to] = write.record;
      return late(to, onAskedRing(undefined, write.ringEpoch, epochOf(), to));
    },
  } as unknown as PeerTransport;
  const fetched: string[] = [];
  const view: ClusterView = {
    selfId: 'n1',
    ring: () => ring,
    epoch: () => epoch,
    isAlive: () => true,
    catchingUp: () => false,
    ringUnconfirmed: () => false,
    sourceRings: () => [],
    drops: () => 0,
    owedFor: () => [],
    fetchRing: (peer, newer) => {
      fetched.push(`${peer}@${newer}`);
      if (opts.fetchWorks) {
        ring = new Ring(['n1', 'n3', 'n4'], { vnodes: 16 });
        epoch = newer;
      }
      return Promise.resolve();
    },
    transport,
    scheduler: realScheduler,
  };
  const requests = new RequestLog();
  const coordinator = new Coordinator({
    view,
    store,
    hints: new HintStore({ maxCount: 100, maxBytes: 1 << 20 }),
    requests,
    recordCopies: new RecordCopies(store, requests, Date.now),
    ballots: new BallotFence(),
    replication: { factor: 3, writeQuorum: 2, readQuorum: 2 },
    logger: silentLogger(),
    maxKeyBytes: 250,
  });
  const run = (op: Operation): Promise<Outcome> =>
    Promise.resolve(coordinator.execute(op, { forwarded: false, deadlineMs: Date.now() + 2000 }));
  return { store, run, writes, fetched };
}

const get: Operation = { kind: 'get', key: 'k', consistency: 'quorum' };
const set: Operation = {
  kind: 'set',
  key: 'k',
  value: Buffer.from('mine'),
  flags: 0,
  ttlMs: 0,
  mode: 'always',
  consistency: 'default',
};

describe('a coordinator on an out-of-date ring', () => {
  it('does not count a read answer from a newer ring, fetches that ring and reads again on it', async () => {
    const { store, run, fetched } = setUp({ fetchWorks: true });
    store.applyRecord('k', rec(100, 'n1', 'old'));
    const out = await run(get);
    if (out instanceof RingCacheError || out.kind !== 'get')
      return expect.fail(`not a get: ${JSON.stringify(out)}`);
    // On ring 1, n1's own old copy and n2's empty answer made R = 2; on ring 2, n4 holds the write.
    expect(out.entry?.value.toString()).to.equal('new');
    expect(fetched).to.deep.equal(['n2@2']);
  });

  it('fails a read UNAVAILABLE (retryable) when the newer ring cannot be fetched', async () => {
    const { store, run } = setUp({ fetchWorks: false });
    store.applyRecord('k', rec(100, 'n1', 'old'));
    const out = await run(get);
    expect(out).to.be.instanceOf(RingCacheError);
    expect((out as RingCacheError).code).to.equal('UNAVAILABLE');
    expect((out as RingCacheError).message).to.match(/ring epoch 1.*n2 holds epoch 2/);
  });

  it("counts a write's acknowledgements again on the newer ring, not n2's on the old one", async () => {
    const { run, writes } = setUp({ fetchWorks: true });
    const out = await run(set);
    if (out instanceof RingCacheError) return expect.fail(`refused: ${out.message}`);
    // First on ring 1 (n2 answers on ring 2: not counted, and the count ends), then on ring 2.
    expect(writes.filter((w) => w.ringEpoch === 1).map((w) => w.to)).to.have.members(['n2', 'n3']);
    expect(writes.filter((w) => w.ringEpoch === 2).map((w) => w.to)).to.have.members(['n3', 'n4']);
  });

  it('leaves a write unacknowledged (QUORUM_NOT_MET, retried by the SDK) when the newer ring cannot be fetched', async () => {
    const { run } = setUp({ fetchWorks: false });
    const out = await run(set);
    expect(out).to.be.instanceOf(RingCacheError);
    expect((out as RingCacheError).code).to.equal('QUORUM_NOT_MET');
  });
});
