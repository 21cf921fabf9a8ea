import { expect } from 'chai';
import type { ClusterView } from '../../../src/cluster/cluster-view';
import type { PeerClient, ReadOutcome } from '../../../src/cluster/peer-client';
import { QuorumReader } from '../../../src/cluster/quorum-read';
import { recordToMsg } from '../../../src/cluster/record-codec';
import type { ReplicaWriter } from '../../../src/cluster/replica-write';
import { Code } from '../../../src/proto/messages';
import type { StoreRecord } from '../../../src/store/types';
import { makeStore } from '../store/fake-clock';

const rec = (timestamp: number, node: string, text: string): StoreRecord => ({
  value: Buffer.from(text),
  flags: 1,
  version: { timestamp, node },
  expiresAtMs: 0,
  tombstone: false,
});

/**
 * Read repair with the replicas' answers given by hand: the QuorumReader's logic, not gRPC, is under
 * test here (the real path is covered by the chaos tests).
 */
function setUp(copies: Record<string, StoreRecord | undefined>) {
  const repairs: { replica: string; record: StoreRecord }[] = [];
  const peer = (id: string) =>
    ({
      read: (key: string): Promise<ReadOutcome> => {
        const record = copies[id];
        return Promise.resolve({
          code: Code.OK,
          message: '',
          result: record ? { found: true, record: recordToMsg(key, record) } : { found: false, record: null },
        });
      },
    }) as unknown as PeerClient;
  const view = { selfId: 'n1', isAlive: () => true, peer } as unknown as ClusterView;
  const writer = {
    repair: (replica: string, _key: string, record: StoreRecord) => repairs.push({ replica, record }),
  } as unknown as ReplicaWriter;
  const { store } = makeStore({ nodeId: 'n1' });
  return { reader: new QuorumReader(view, store, writer), store, repairs };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('read repair', () => {
  it('returns the newest copy and sends it to every replica holding an older one or none', async () => {
    const newest = rec(300, 'n2', 'new');
    const { reader, store, repairs } = setUp({ n2: newest, n3: undefined });
    store.applyRecord('k', rec(100, 'n1', 'old'));
    const res = await reader.get(
      { id: 0, op: 'get', get: { key: 'k', consistency: 2 } },
      ['n1', 'n2', 'n3'],
      2,
      Date.now() + 1000,
    );
    expect(res.code).to.equal(Code.OK);
    expect(res.get!.value.toString()).to.equal('new');
    await settle();
    expect(store.readRecord('k')!.version).to.deep.equal(newest.version); // the local copy at once
    expect(repairs.map((r) => r.replica)).to.deep.equal(['n3']); // n2 already had it
    expect(repairs[0]!.record.version).to.deep.equal(newest.version);
  });

  it('repairs nothing when the replicas agree', async () => {
    const same = rec(200, 'n1', 'same');
    const { reader, store, repairs } = setUp({ n2: same, n3: same });
    store.applyRecord('k', same);
    await reader.get(
      { id: 0, op: 'get', get: { key: 'k', consistency: 3 } },
      ['n1', 'n2', 'n3'],
      3,
      Date.now() + 1000,
    );
    await settle();
    expect(repairs).to.deep.equal([]);
  });
});
