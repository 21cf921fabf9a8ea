import { RingCacheError } from '../errors';
import type { Store } from '../store/store';
import type { StoreRecord } from '../store/types';
import type { ClusterView } from './cluster-view';
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
 * Where `key` lives and what each of its replicas holds (issue 13 §4): asked of each replica
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

/** Pause before asking again a replica whose connection failed at once (refused, reconnecting). */
const RETRY_MS = 50;

/**
 * A replica's copy; a connection that is still (re)connecting fails at once, so it is asked again
 * while time is left, as a read-modify-write's prepare does.
 */
async function readCopy(
  view: ClusterView,
  id: string,
  key: string,
  deadlineMs: number,
): Promise<StoreRecord | undefined | RingCacheError> {
  for (;;) {
    const found = await view.transport.read(id, key, deadlineMs);
    if (!(found instanceof RingCacheError) || found.code !== 'UNAVAILABLE') return found;
    if (view.scheduler.now() + RETRY_MS >= deadlineMs) return found;
    await new Promise<void>((resume) => view.scheduler.setTimeout(resume, RETRY_MS));
  }
}
