import { RingCacheError } from '../errors';
import type { ClusterView } from './cluster-view';

/**
 * Cluster/Flush: every member of the ring deletes the keys it holds that start with
 * `prefix`, this node by `flushHere`, the others over the transport. Each writes tombstones, so a
 * replica that is down now learns of the flush from them later. UNAVAILABLE, naming them, when some
 * members did not answer; the others flushed.
 */
export async function flushCluster(
  view: ClusterView,
  prefix: string,
  flushHere: (prefix: string) => number,
): Promise<{ deleted: number; nodes: string[] }> {
  const results = await Promise.all(
    view.ring().nodeIds.map((id) =>
      id === view.selfId
        ? Promise.resolve({ id, deleted: flushHere(prefix) })
        : view.transport.flush(id, prefix, 10_000).then(
            (deleted) => ({ id, deleted }),
            (err: unknown) => ({ id, error: err instanceof Error ? err.message : String(err) }),
          ),
    ),
  );
  const done = results.filter((r): r is { id: string; deleted: number } => 'deleted' in r);
  const failed = results.filter((r): r is { id: string; error: string } => 'error' in r);
  if (failed.length > 0) {
    throw new RingCacheError(
      'UNAVAILABLE',
      `flush reached ${done.map((r) => r.id).join(', ') || 'no member'} but not ${failed
        .map((r) => `${r.id} (${r.error})`)
        .join(', ')}; run it again once they answer`,
    );
  }
  return { deleted: done.reduce((n, r) => n + r.deleted, 0), nodes: done.map((r) => r.id) };
}
