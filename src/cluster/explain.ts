import { RingCacheError } from '../errors';
import type { Store } from '../store/store';
import type { StoreRecord } from '../store/types';
import type { ClusterView } from './cluster-view';
import { askReplica } from './replication/ask-replica';
import type { MemberState } from './membership/types';
import type { MemberView } from './ring-change/topology';

/** One replica of a key, as explainKey found it. */
export interface ReplicaExplanation {
  id: string;
  address: string;
  state: MemberState;
  /** What it holds (a value or a tombstone); undefined when it holds nothing of the key. */
  record?: StoreRecord;
  /** Set when it could not be asked. */
  error?: string;
}

export interface KeyExplanation {
  key: string;
  /** The key's point on the ring. */
  position: number;
  epoch: number;
  /** In preference order. */
  replicas: ReplicaExplanation[];
}

/**
 * Where `key` lives and what each of its replicas holds: asked of each replica
 * directly, so a test or a person sees the copies as they are, not as a quorum read merges them.
 */
export async function explainKey(
  view: ClusterView,
  store: Store,
  members: readonly MemberView[],
  factor: number,
  key: string,
  deadlineMs: number,
): Promise<KeyExplanation> {
  const ring = view.ring();
  const byId = new Map(members.map((m) => [m.id, m]));
  const replicas = await Promise.all(
    ring.preferenceList(key, factor).map(async (id): Promise<ReplicaExplanation> => {
      const member = byId.get(id);
      const base = { id, address: member?.address ?? '', state: member?.state ?? 'alive' };
      const found = id === view.selfId ? store.readRecord(key) : await readCopy(view, id, key, deadlineMs);
      if (found instanceof RingCacheError) return { ...base, error: found.message };
      return { ...base, record: found };
    }),
  );
  return { key, position: ring.hashOf(key), epoch: view.epoch(), replicas };
}

/** A replica's copy, asked again while its connection is still (re)connecting (askReplica). */
function readCopy(
  view: ClusterView,
  id: string,
  key: string,
  deadlineMs: number,
): Promise<StoreRecord | undefined | RingCacheError> {
  return askReplica(view.scheduler, deadlineMs, async () => {
    const copy = await view.transport.read(id, key, deadlineMs);
    return copy instanceof RingCacheError ? copy : copy?.record;
  });
}
