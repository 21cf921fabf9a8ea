import { RingCacheError } from '../errors';
import type { ClusterView } from './cluster-view';

/** Each member gets this long to answer, per phase. */
const MEMBER_TIMEOUT_MS = 10_000;

export interface FlushParts {
  view: ClusterView;
  /** This node's hybrid clock: its highest timestamp issued or seen. */
  clockHere(): number;
  /** A member's hybrid clock, from its answer to a ping. Rejects when it does not answer. */
  clockOf(member: string, timeoutMs: number): Promise<number>;
  /** Deletes here what `prefix` covers, written up to `fence` (PeerEndpoint.flush); how many. */
  flushHere(prefix: string, fence: number): number;
}

/**
 * Cluster/Flush: every member of the ring deletes the keys that start with `prefix` written up to
 * one point of the cluster's hybrid time, T, in two steps:
 * 1. every member is asked its clock; T is the highest. Each write acknowledged before the flush
 *    began was made at or before its coordinator's clock then, so at or before T.
 * 2. every member is sent T (this node's own share runs here): it deletes what it holds under the
 *    prefix at a version up to T, writing tombstones at one version, T + 1, the same on every member
 *    (so replicas agree, with or without anti-entropy); refuses for a tombstone grace any copy of
 *    such a write still on its way (a replica write, a hint, anti-entropy, read repair, a rebalance:
 *    store/flush-fences.ts); and writes past T from then on.
 * So once the flush is answered, no write acknowledged before it began is read again, and every
 * write acknowledged after it stays. Writes made during the flush are deleted on every replica or on
 * none, by their version.
 *
 * T comes from the members' clocks, never from a bound such as now plus max_clock_offset_ms: bumped
 * that far, a node's next writes would be refused by its peers as too far ahead. A member of a
 * release before fences deletes every matching key it holds when step 2 reaches it, as it did.
 * UNAVAILABLE, naming them, when some members did not answer; then members that got step 2 flushed,
 * and it is safe to run again.
 */
export async function flushCluster(
  parts: FlushParts,
  prefix: string,
): Promise<{ deleted: number; nodes: string[] }> {
  const { view } = parts;
  const members = view.ring().nodeIds;
  const clocks = await eachMember(
    members,
    view.selfId,
    () => parts.clockHere(),
    (id) => parts.clockOf(id, MEMBER_TIMEOUT_MS),
  );
  if (clocks.failed.length > 0) throw unreached('flushed no member', clocks.failed);
  const fence = Math.max(...clocks.done.map((r) => r.value));
  const flushed = await eachMember(
    members,
    view.selfId,
    () => parts.flushHere(prefix, fence),
    (id) => view.transport.flush(id, prefix, MEMBER_TIMEOUT_MS, fence),
  );
  if (flushed.failed.length > 0) {
    const reached = flushed.done.map((r) => r.id).join(', ') || 'no member';
    throw unreached(`flush reached ${reached}`, flushed.failed);
  }
  return {
    deleted: flushed.done.reduce((n, r) => n + r.value, 0),
    nodes: flushed.done.map((r) => r.id),
  };
}

function unreached(done: string, failed: { id: string; error: string }[]): RingCacheError {
  return new RingCacheError(
    'UNAVAILABLE',
    `${done} but not ${failed.map((r) => `${r.id} (${r.error})`).join(', ')}; run it again once they answer`,
  );
}

/** `here()` for this node, `there(id)` for every other member, at once; who answered what, and who failed. */
async function eachMember(
  members: readonly string[],
  self: string,
  here: () => number,
  there: (id: string) => Promise<number>,
): Promise<{ done: { id: string; value: number }[]; failed: { id: string; error: string }[] }> {
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const results = await Promise.all(
    members.map(async (id) => {
      try {
        return { id, value: id === self ? here() : await there(id) };
      } catch (err) {
        return { id, error: message(err) };
      }
    }),
  );
  return {
    done: results.filter((r): r is { id: string; value: number } => 'value' in r),
    failed: results.filter((r): r is { id: string; error: string } => 'error' in r),
  };
}
