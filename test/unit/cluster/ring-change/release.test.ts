import { expect } from 'chai';
import type { ClusterView } from '../../../../src/cluster/cluster-view';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import type { PeerTransport, ReplicaWrite } from '../../../../src/cluster/peer-transport';
import { RecordCopies } from '../../../../src/cluster/replication/record-copies';
import { RequestLog } from '../../../../src/cluster/replication/request-log';
import { copyAgeLimitOf, releaseUnowned } from '../../../../src/cluster/ring-change/release';
import { RingCacheError } from '../../../../src/errors';
import { silentLogger } from '../../../../src/observability/logger';
import { Ring } from '../../../../src/ring/ring';
import type { StoreRecord } from '../../../../src/store/types';
import { wallMsOf } from '../../../../src/store/hlc';
import { makeStore } from '../../store/fake-clock';

/**
 * Which copies a node drops after a ring change, with the new replicas' answers given by hand (the
 * real path is covered by test/integration/elasticity.test.ts).
 */
type Peers = Record<string, { holds?: StoreRecord; dead?: boolean; refuses?: boolean }>;

/** `peers` is given this node's own copy of 'k', to say what the new replicas hold. */
function setUp(peersOf: (mine: StoreRecord) => Peers, nowOf?: (mine: StoreRecord) => number) {
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
    scheduler: nowOf ? { ...realScheduler, now: () => nowOf(mine) } : realScheduler,
  } as unknown as ClusterView;
  const release = (copyAgeLimitMs?: number) =>
    releaseUnowned({
      ring,
      factor: 2,
      view,
      store,
      copies: new RecordCopies(store, new RequestLog(), Date.now),
      logger: silentLogger(),
      isCurrent: () => true,
      copyAgeLimitMs,
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

  it('takes twice the clock bound off the grace: a copy stamped by a fast clock is older than it looks', async () => {
    // Grace 60 s, bound 500 ms. The copy's timestamp says 59.2 s ago; a writer's clock up to 500 ms
    // fast may have stamped it, so it may be 59.7 s old, and a replica whose clock runs 500 ms ahead
    // of the delete's coordinator purged its tombstone at 59.5 s.
    const limitMs = copyAgeLimitOf(60_000, 500);
    expect(limitMs).to.equal(59_000);
    const aged = (ms: number) => (mine: StoreRecord) => wallMsOf(mine.version.timestamp) + ms;
    const old = setUp((mine) => ({ n2: { holds: mine } }), aged(59_200));
    expect(await old.release(limitMs)).to.equal(0);
    expect(old.replicated).to.deep.equal([]);
    const young = setUp((mine) => ({ n2: { holds: mine } }), aged(58_800));
    expect(await young.release(limitMs)).to.equal(1);
    expect(young.replicated).to.deep.equal(['n3']);
    // A grace within twice the bound: no copy is old enough to be sure of, none is sent.
    expect(copyAgeLimitOf(1000, 500)).to.equal(0);
  });
});
