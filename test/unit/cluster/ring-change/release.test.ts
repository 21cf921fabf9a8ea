import { expect } from 'chai';
import type { ClusterView } from '../../../../src/cluster/cluster-view';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import type { PeerTransport, ReplicaWrite } from '../../../../src/cluster/peer-transport';
import { RecordCopies } from '../../../../src/cluster/replication/record-copies';
import { RequestLog } from '../../../../src/cluster/replication/request-log';
import { releaseUnowned } from '../../../../src/cluster/ring-change/release';
import { RingCacheError } from '../../../../src/errors';
import { silentLogger } from '../../../../src/observability/logger';
import { Ring } from '../../../../src/ring/ring';
import type { StoreRecord } from '../../../../src/store/types';
import { makeStore } from '../../store/fake-clock';

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
  const transport = {
    read: (to: string, key: string): Promise<ReplicaWrite | undefined> => {
      const record = peers[to]?.holds;
      return Promise.resolve(record && { key, record });
    },
    replicate: (to: string): Promise<RingCacheError | undefined> => {
      replicated.push(to);
      return Promise.resolve(
        peers[to]?.refuses ? new RingCacheError('UNAVAILABLE', `${to} refuses`) : undefined,
      );
    },
  } as unknown as PeerTransport;
  const view = {
    selfId: 'n1',
    ring: () => ring,
    isAlive: (id: string) => !peers[id]?.dead,
    transport,
    scheduler: realScheduler,
  } as unknown as ClusterView;
  const release = (tombstoneGraceMs?: number) =>
    releaseUnowned({
      ring,
      factor: 2,
      view,
      store,
      copies: new RecordCopies(store, new RequestLog(), Date.now),
      logger: silentLogger(),
      isCurrent: () => true,
      tombstoneGraceMs,
    });
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

  it('never sends a copy older than the tombstone grace to a replica that lacks it, and keeps it (issue 11 §3)', async () => {
    // The store's clock is far behind the real one the view runs on: its copy was written long ago.
    const s = setUp((mine) => ({ n2: { holds: mine } }));
    expect(await s.release(60_000)).to.equal(0);
    expect(s.replicated).to.deep.equal([]);
    expect(s.store.readRecord('k')?.value.toString()).to.equal('mine');
  });
});
