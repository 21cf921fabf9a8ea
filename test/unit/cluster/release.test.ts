import { expect } from 'chai';
import type { ClusterView } from '../../../src/cluster/cluster-view';
import type { PeerClient, ReadOutcome } from '../../../src/cluster/peer-client';
import { recordToMsg } from '../../../src/cluster/record-codec';
import { releaseUnowned } from '../../../src/cluster/release';
import { silentLogger } from '../../../src/observability/logger';
import { Code } from '../../../src/proto/messages';
import { Ring } from '../../../src/ring/ring';
import type { StoreRecord } from '../../../src/store/types';
import { makeStore } from '../store/fake-clock';

/**
 * Which copies a node drops after a ring change, with the new replicas' answers given by hand (the
 * real path is covered by test/integration/elasticity.test.ts).
 */
type Peers = Record<string, { holds?: StoreRecord; dead?: boolean; refuses?: boolean }>;

/** `peers` is given this node's own copy of 'k', to say what the new replicas hold. */
function setUp(peersOf: (mine: StoreRecord) => Peers) {
  const { store } = makeStore({ nodeId: 'n1' });
  store.set('k', Buffer.from('mine'), 1);
  const mine = store.readRecord('k')!;
  const peers = peersOf(mine);
  const ring = new Ring(['n2', 'n3'], { vnodes: 16 }); // n1 is no longer a member: it owns nothing
  const replicated: string[] = [];
  const peer = (id: string) =>
    ({
      read: (key: string): Promise<ReadOutcome> => {
        const record = peers[id]?.holds;
        return Promise.resolve({
          code: Code.OK,
          message: '',
          result: record ? { found: true, record: recordToMsg(key, record) } : { found: false, record: null },
        });
      },
      replicate: () => {
        replicated.push(id);
        return Promise.resolve(peers[id]?.refuses ? Code.UNAVAILABLE : Code.OK);
      },
    }) as unknown as PeerClient;
  const view = {
    selfId: 'n1',
    ring: () => ring,
    isAlive: (id: string) => !peers[id]?.dead,
    peer,
  } as unknown as ClusterView;
  const release = () =>
    releaseUnowned({ ring, factor: 2, view, store, logger: silentLogger(), isCurrent: () => true });
  return { store, replicated, release };
}

const newer = (r: StoreRecord): StoreRecord => ({
  ...r,
  value: Buffer.from('theirs'),
  version: { timestamp: r.version.timestamp + 1, node: 'n2' },
});

describe('releasing copies of keys a node no longer replicates', () => {
  it('drops the copy when every new replica holds that version or a newer one, sending nothing', async () => {
    const s = setUp((mine) => ({ n2: { holds: mine }, n3: { holds: newer(mine) } }));
    expect(await s.release()).to.equal(1);
    expect(s.replicated).to.deep.equal([]);
    expect(s.store.readRecord('k')).to.equal(undefined);
    expect(s.store.stats()).to.include({ keys: 0, tombstones: 0 });
  });

  it('sends its copy to a new replica that lacks it, then drops it', async () => {
    const s = setUp((mine) => ({ n2: { holds: mine } }));
    expect(await s.release()).to.equal(1);
    expect(s.replicated).to.deep.equal(['n3']);
    expect(s.store.readRecord('k')).to.equal(undefined);
  });

  it('keeps the copy while a new replica is down or refuses it', async () => {
    const down = setUp(() => ({ n3: { dead: true } }));
    expect(await down.release()).to.equal(0);
    expect(down.replicated).to.deep.equal([]);
    expect(down.store.readRecord('k')).to.not.equal(undefined);
    const refusing = setUp(() => ({ n2: { refuses: true } }));
    expect(await refusing.release()).to.equal(0);
    expect(refusing.store.readRecord('k')).to.not.equal(undefined);
  });
});
