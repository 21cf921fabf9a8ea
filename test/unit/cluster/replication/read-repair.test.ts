import { expect } from 'chai';
import type { ClusterView } from '../../../../src/cluster/cluster-view';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import type { PeerTransport, ReplicaWrite } from '../../../../src/cluster/peer-transport';
import { QuorumReader } from '../../../../src/cluster/replication/quorum-read';
import { RecordCopies } from '../../../../src/cluster/replication/record-copies';
import type { ReplicaWriter } from '../../../../src/cluster/replication/replica-write';
import { RequestLog } from '../../../../src/cluster/replication/request-log';
import { RingCacheError } from '../../../../src/errors';
import type { StoreRecord } from '../../../../src/store/types';
import { makeStore } from '../../store/fake-clock';

const rec = (timestamp: number, node: string, text: string): StoreRecord => ({
  value: Buffer.from(text),
  flags: 1,
  version: { timestamp, node },
  expiresAtMs: 0,
  tombstone: false,
});

/**
 * Read repair with the replicas' answers given by hand: the QuorumReader's logic, not the transport,
 * is under test here (the real path is covered by the chaos tests).
 */
function setUp(copies: Record<string, StoreRecord | undefined>, catchingUp = false) {
  const repairs: { replica: string; record: StoreRecord }[] = [];
  const transport = {
    read: (to: string, key: string): Promise<ReplicaWrite | undefined> => {
      const record = copies[to];
      return Promise.resolve(record && { key, record });
    },
  } as unknown as PeerTransport;
  const view = {
    selfId: 'n1',
    isAlive: () => true,
    catchingUp: () => catchingUp,
    ringUnconfirmed: () => false,
    sourceRings: () => [],
    drops: () => 0,
    owedFor: () => [],
    transport,
    scheduler: realScheduler,
  } as unknown as ClusterView;
  const writer = {
    repair: (replica: string, copy: ReplicaWrite) => repairs.push({ replica, record: copy.record }),
  } as unknown as ReplicaWriter;
  const { store } = makeStore({ nodeId: 'n1' });
  const reader = new QuorumReader(view, store, new RecordCopies(store, new RequestLog(), Date.now), writer);
  return { reader, store, repairs };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('read repair', () => {
  it('returns the newest copy and sends it to every replica holding an older one or none', async () => {
    const newest = rec(300, 'n2', 'new');
    const { reader, store, repairs } = setUp({ n2: newest, n3: undefined });
    store.applyRecord('k', rec(100, 'n1', 'old'));
    const res = await reader.get('k', ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    if (res instanceof RingCacheError) return expect.fail(`refused: ${res.message}`);
    if (res.kind !== 'get') return expect.fail(`not a get result: ${res.kind}`);
    expect(res.entry!.value.toString()).to.equal('new');
    await settle();
    expect(store.readRecord('k')!.version).to.deep.equal(newest.version); // the local copy at once
    expect(repairs.map((r) => r.replica)).to.deep.equal(['n3']); // n2 already had it
    expect(repairs[0]!.record.version).to.deep.equal(newest.version);
  });

  it('repairs from a newer answer that came after the first R (issue 11 §5)', async () => {
    const later = rec(300, 'n3', 'later');
    const { reader, store, repairs } = setUp({ n2: rec(200, 'n2', 'first'), n3: later });
    store.applyRecord('k', rec(100, 'n1', 'old'));
    await reader.get('k', ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    await settle();
    expect(store.readRecord('k')!.version).to.deep.equal(later.version);
    expect(repairs.map((r) => [r.replica, r.record.version.node])).to.deep.equal([['n2', 'n3']]);
  });

  it('repairs when the first R answers were empty and a later one holds the key (issue 11 §5)', async () => {
    const only = rec(300, 'n3', 'only');
    const { reader, store, repairs } = setUp({ n2: undefined, n3: only });
    await reader.get('k', ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    await settle();
    expect(store.readRecord('k')!.version).to.deep.equal(only.version);
    expect(repairs.map((r) => r.replica)).to.deep.equal(['n2']);
  });

  it('repairs nothing when the replicas agree', async () => {
    const same = rec(200, 'n1', 'same');
    const { reader, store, repairs } = setUp({ n2: same, n3: same });
    store.applyRecord('k', same);
    await reader.get('k', ['n1', 'n2', 'n3'], 3, Date.now() + 1000);
    await settle();
    expect(repairs).to.deep.equal([]);
  });

  it('does not count its own copy while it catches up: R other replicas must answer (issue 11 §2)', async () => {
    const held = rec(300, 'n2', 'held');
    const { reader, store } = setUp({ n2: held, n3: undefined }, true);
    store.applyRecord('k', rec(100, 'n1', 'stale'));
    const one = await reader.get('k', ['n1', 'n2', 'n3'], 1, Date.now() + 1000);
    expect(one).to.not.be.instanceOf(Error);
    expect(
      (one as { entry?: { value: Buffer } }).entry?.value.toString(),
      'a peer copy, not its stale one',
    ).to.equal('held');
    const two = await reader.get('k', ['n1', 'n2'], 2, Date.now() + 1000);
    expect((two as Error).message).to.match(
      /needs 2 replicas but only 1 .* can answer \(n1 is catching up\)/,
    );
  });
});
