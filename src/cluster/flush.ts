import { RingCacheError } from '../errors';
import type { ClusterView } from './cluster-view';

/** Each member gets this long to answer, per phase. */
const MEMBER_TIMEOUT_MS = 10_000;

/** Rounds a flush runs while the ring keeps changing under it before it gives up (UNAVAILABLE). */
const MAX_ROUNDS = 4;

/** How long a round waits for this node to hold the newest ring a member answered with. */
const RING_WAIT_MS = 5_000;
const RING_POLL_MS = 50;

/** A ring as gossip tells it apart: its epoch and its digest. */
export interface RingStamp {
  epoch: number;
  digest: number;
}

export interface FlushParts {
  view: ClusterView;
  /** The epoch and digest of the ring this node holds now (its members are view.ring()). */
  ringHere(): RingStamp;
  /** This node's hybrid clock: its highest timestamp issued or seen. */
  clockHere(): number;
  /**
   * A member's hybrid clock, and the ring it holds, from its answer to a ping (which also tells it
   * this node's ring). Rejects when it does not answer.
   */
  askMember(member: string, timeoutMs: number): Promise<{ clock: number; ring: RingStamp }>;
  /** Deletes here what `prefix` covers, written up to `fence` (PeerEndpoint.flush); how many. */
  flushHere(prefix: string, fence: number): number;
  /** Resolves after `ms` of the node's clock. */
  sleep(ms: number): Promise<void>;
}

/**
 * Cluster/Flush: every member of the ring deletes the keys that start with `prefix` written up to
 * one point of the cluster's hybrid time, T, in two steps:
 * 1. every member is asked its clock; T is the highest. Each write acknowledged before the flush
 *    began was made at or before its coordinator's clock then, so at or before T.
 * 2. every member is sent T (this node's own share runs here): it deletes what it holds under the
 *    prefix at a version up to T, writing tombstones at one version, T + 1, the same on every member
 *    (so replicas agree, with or without anti-entropy, but for a ring change below); refuses for a tombstone grace any copy of
 *    such a write still on its way (a replica write, a hint, anti-entropy, read repair, a rebalance:
 *    store/flush-fences.ts); and writes past T from then on.
 * So once the flush is answered, no write acknowledged before it began is read again, and every
 * write acknowledged after it stays. Writes made during the flush are deleted on every replica or on
 * none, by their version.
 *
 * The ring may change while a flush runs: a node that joins pulls the copies of its keys from their
 * old replicas (move-in), some maybe before those were flushed, and step 2 never reached it. So
 * every member is asked again once step 2 is done: if this node now holds another ring than the
 * one flushed, or a member holds a newer one (or another of the same epoch: rings merged after a
 * partition), the flush waits until this node holds the newest of them and runs again on it, at a
 * T that is the highest of every round's (a member that joined before the flush began may have
 * acknowledged writes past the first T); members already flushed delete what was written since, at
 * the new T (their tombstones of the first round keep its version: anti-entropy settles them, and
 * either is "absent"). It answers once a round began and ended on one ring, which no member has
 * moved past: every member that handed a joining node its copies took in the joining node's ring
 * before it did (PeerAnswers.syncRecords), so a join under the flush shows at them. Members still on
 * an older ring were flushed all the same (this ring holds them, or they left). After MAX_ROUNDS of
 * changes it gives up (UNAVAILABLE): run it again once the ring has settled. Then step 2 runs once
 * more: a member that restarted during the flush came back without its fence and tombstones, and
 * its catch-up may have pulled copies of flushed writes from members that step 2 had not reached.
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
  let ring = parts.ringHere();
  let members = view.ring().nodeIds;
  let asked = await askEach(parts, members, 'flushed no member');
  let fence = 0;
  let deleted = 0;
  const nodes = new Set<string>();
  for (let round = 1; ; round++) {
    fence = Math.max(fence, ...asked.map((a) => a.clock));
    const flushed = await eachMember(
      members,
      view.selfId,
      () => parts.flushHere(prefix, fence),
      (id) => view.transport.flush(id, prefix, MEMBER_TIMEOUT_MS, fence),
    );
    for (const r of flushed.done) nodes.add(r.id);
    if (flushed.failed.length > 0) {
      const reached = [...nodes].join(', ') || 'no member';
      throw unreached(`flush reached ${reached}`, flushed.failed);
    }
    deleted += flushed.done.reduce((n, r) => n + r.value, 0);
    // Did the ring change under the flush? Every member of this node's ring now says which it holds.
    const now = parts.ringHere();
    const nowMembers = view.ring().nodeIds;
    asked = await askEach(parts, nowMembers, `flush reached ${[...nodes].join(', ')}`);
    // A member still on an older ring was flushed all the same (this ring holds it, or it left).
    if (sameRing(now, ring) && asked.every((a) => sameRing(a.ring, ring) || a.ring.epoch < ring.epoch)) {
      // Step 2 once more, now that every member has been through it: a member that restarted during
      // the flush lost its fence and tombstones, and its catch-up may have pulled copies of flushed
      // writes from members step 2 had not reached yet. A restart after this pull pulls from members
      // that all hold the tombstones and fences.
      // Not to a member that has left meanwhile: it holds no key of this ring.
      const still = new Set(view.ring().nodeIds);
      const again = await eachMember(
        members.filter((id) => still.has(id)),
        view.selfId,
        () => parts.flushHere(prefix, fence),
        (id) => view.transport.flush(id, prefix, MEMBER_TIMEOUT_MS, fence),
      );
      if (again.failed.length > 0) {
        const reached = again.done.map((r) => r.id).join(', ') || 'no member';
        throw unreached(`flush reached every member once and ${reached} again`, again.failed);
      }
      deleted += again.done.reduce((n, r) => n + r.value, 0);
      return { deleted, nodes: [...nodes] };
    }
    if (round >= MAX_ROUNDS)
      throw new RingCacheError(
        'UNAVAILABLE',
        `flush reached ${[...nodes].join(', ')}, but the ring changed during each of its ${round} rounds; run it again once the ring has settled`,
      );
    // Flush again on the newest ring a member holds, once this node holds it too (gossip brings it:
    // the pings above told every member this node's ring).
    const newest = Math.max(now.epoch, ...asked.map((a) => a.ring.epoch));
    for (let waited = 0; parts.ringHere().epoch < newest && waited < RING_WAIT_MS; waited += RING_POLL_MS)
      await parts.sleep(RING_POLL_MS);
    ring = parts.ringHere();
    if (view.ring().nodeIds.join() !== nowMembers.join())
      asked = await askEach(parts, view.ring().nodeIds, `flush reached ${[...nodes].join(', ')}`);
    members = view.ring().nodeIds;
  }
}

/** The same ring: the same epoch, and the same digest where both tell one (0: a release that sends none). */
const sameRing = (a: RingStamp, b: RingStamp): boolean =>
  a.epoch === b.epoch && (a.digest === b.digest || a.digest === 0 || b.digest === 0);

/** Every member's clock and ring (this node's own included); UNAVAILABLE, after `done`, naming who did not answer. */
async function askEach(
  parts: FlushParts,
  members: readonly string[],
  done: string,
): Promise<{ clock: number; ring: RingStamp }[]> {
  const answers = new Map<string, { clock: number; ring: RingStamp }>();
  const asked = await eachMember(
    members,
    parts.view.selfId,
    () => {
      answers.set(parts.view.selfId, { clock: parts.clockHere(), ring: parts.ringHere() });
      return 0;
    },
    async (id) => {
      answers.set(id, await parts.askMember(id, MEMBER_TIMEOUT_MS));
      return 0;
    },
  );
  if (asked.failed.length > 0) throw unreached(done, asked.failed);
  return [...answers.values()];
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
