import { RingCacheError } from '../../errors';
import type { ChangeKind } from '../../store/change-feed';
import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import { compareVersions, type Version } from '../../store/version';
import { ownCopyCounts, type ClusterView } from '../cluster-view';
import { NewerRing, type Lookup } from '../peer-transport';
import type { BallotFence } from './ballots';
import { askReplica } from './ask-replica';
import { copyHolders } from './copy-holders';
import type { Outcome, OperationResult, ReadModifyWrite } from './operation';
import { prepareQuorum, roundWriteQuorum, type ReplicationSettings } from './quorum';
import type { RecordCopies } from './record-copies';
import type { AppliedRequest, RequestLog } from './request-log';

export type Request = ReadModifyWrite & { requestId: string };

/** One caller's operation, waiting for the round it rides in. */
export interface Pending {
  op: Request;
  deadlineMs: number;
  resolve: (outcome: Outcome) => void;
  /** Its outcome when it was applied before (a retry): it is not applied again. */
  known?: OperationResult;
  /**
   * How many replicas that answered this round's prepare (this node included, unless it catches
   * up) hold the request's outcome: each accepted the write that carried it. Set by prepareRound.
   */
  knownBy: number;
  /**
   * How many of the key's replicas this round's prepare did not hear (down, unreachable, not yet
   * answered, or this node while it catches up): a request fewer than W of the others know may be
   * known to them. Set by prepareRound when it grants the round.
   */
  unheard?: number;
}

/** How a round's catch-up ended: granted, met a higher ballot (start over), or failed. */
export type Prepared = 'granted' | 'contended' | RingCacheError;

/** What a coordinator's rounds work with. */
export interface RoundParts {
  view: ClusterView;
  store: Store;
  /** A copy from a prepare answer is taken with the requests that made it. */
  copies: RecordCopies;
  fence: BallotFence;
  requests: RequestLog;
  rep: ReplicationSettings;
}

/** W of a round of `batch` (quorum.ts roundWriteQuorum). */
export function writeQuorum(batch: readonly Pending[], rep: ReplicationSettings): number {
  return roundWriteQuorum(
    batch.map((p) => p.op.consistency),
    rep,
  );
}

/** A replica's copy, kept if newer; one this node's limits refuse counts as an answer all the same. */
export function applyCopy(store: Store, key: string, record: StoreRecord, kind?: ChangeKind): void {
  try {
    store.applyRecord(key, record, kind);
  } catch {
    // Refused by this node's own limits (a larger max_value_bytes elsewhere): its copy stays.
  }
}

/**
 * Which of two outcomes of one request is the later: by the version each wrote (an outcome that
 * wrote none, a set that stored nothing, is the same whichever round gave it).
 */
function compareOutcomes(a: OperationResult, b: OperationResult): number {
  const va = 'version' in a ? a.version : undefined;
  const vb = 'version' in b ? b.version : undefined;
  return va && vb ? compareVersions(va, vb) : 0;
}

/**
 * Step 2 of a round (read-modify-write.ts): this node and N - W + 1 replicas in all promise `ballot`
 * and send their copies, the newest of which this node takes; requests of the batch a replica holds
 * the outcome of are marked known.
 */
export function prepareRound(
  parts: RoundParts,
  key: string,
  ballot: Version,
  batch: Pending[],
  preferenceList: readonly string[],
  epoch: number,
  deadlineMs: number,
): Promise<Prepared> {
  const clock = parts.view.scheduler;
  // A copy answered after this node dropped its data (a long absence) is not taken: a peer may have
  // read it before a delete whose tombstones are purged since (QuorumReader's read repair alike).
  const drops = parts.view.drops();
  const refusedHere = parts.fence.prepare(key, ballot, parts.store.versionOf(key), clock.now());
  if (refusedHere) {
    parts.store.hlc.observe(refusedHere);
    return Promise.resolve('contended');
  }
  const others = copyHolders(parts.view, key, preferenceList);
  // Only the key's replicas vote: a former holder (copy-holders.ts) adds its copy, but it took none
  // of the writes acknowledged on this ring, so its answer could stand in for one that did.
  const voters = others.filter((id) => preferenceList.includes(id)).length;
  // This node's own copy is one of the reads only where it is a replica of the key, and not while it
  // catches up or its ring may be behind (then one more replica must answer instead). A node that coordinates a key it is no
  // replica of (it left the ring, and a node on an older ring forwarded the call to it) took none
  // of the writes acknowledged on the ring: counted, its empty copy let a prepare that heard one
  // replica write over an increment two others had taken (nemesis mix seed 40345).
  const isReplica = preferenceList.includes(parts.view.selfId);
  const own = ownCopyCounts(parts.view, key, preferenceList) ? 1 : 0;
  const othersInList = preferenceList.length - (isReplica ? 1 : 0);
  // A retry known here writes nothing when W replicas know it (the accept, read-modify-write.ts): it waits for as
  // many answers as its W asks, so that a call at ALL retried is not written again either. Looked up
  // now, not on arrival: a copy that arrived while the round that applied it was still running (a
  // caller's retry, a duplicated forward) is known by the time its own round prepares.
  // The latest outcome here, too: one looked up when the call arrived may since have been replaced
  // by a round that completed the request anew (this node took its accept), and the replicas'
  // answers, which name the new one, would then not count this node among those that remember it.
  const nowMs = clock.now();
  for (const p of batch) {
    const here = parts.requests.get(p.op.requestId, key, nowMs);
    if (here && (!p.known || compareOutcomes(here, p.known) > 0)) p.known = here;
  }
  const w = writeQuorum(batch, parts.rep);
  const retried = batch.some((p) => p.known) ? w - own : 0;
  const needed = Math.min(
    Math.max(prepareQuorum(parts.rep.writeQuorum, parts.rep) - own, retried),
    othersInList,
  );
  // So too for a request an answer shows known: its retry writes nothing only where W replicas know
  // it, and would otherwise write its record again at a new version (read-modify-write.ts). The
  // voters still to answer are waited for, not required: a round that hears fewer goes on with what
  // it heard.
  const wanted = () => (batch.some((p) => p.known && p.knownBy < w) ? Math.min(w, othersInList) : needed);
  for (const p of batch) {
    // Only a request this node took firsthand counts it as one that remembers (RequestLog.hear), and
    // only with its latest outcome.
    const firsthand = own === 1 ? parts.requests.getFirsthand(p.op.requestId, key, nowMs) : undefined;
    p.knownBy = firsthand && p.known && compareOutcomes(firsthand, p.known) === 0 ? 1 : 0;
  }
  const heardSelf = own;
  const grant = (grantedVoters: number): Prepared => {
    for (const p of batch) p.unheard = Math.max(0, preferenceList.length - heardSelf - grantedVoters);
    return 'granted';
  };
  if (needed <= 0) return Promise.resolve(grant(0));
  const kind = batch[0]?.op.kind ?? 'read-modify-write';
  if (voters < needed) {
    return Promise.resolve(
      new RingCacheError(
        'QUORUM_NOT_MET',
        `${kind} of key '${key}' not applied: it must read ${needed + 1} replicas first and only ${voters + 1} of ${preferenceList.join(', ')} are alive`,
      ),
    );
  }
  // Every request of the batch, known ones too: a retry writes nothing only when W replicas know it.
  // Each once: a replica names each request it is asked about, and a request asked twice (a retry
  // riding with its original) was counted twice per replica (5 of 3).
  const requestIds = [...new Set(batch.map((p) => p.op.requestId))];
  return new Promise((resolve) => {
    let granted = 0;
    let refused = 0;
    /** Replicas (voters) not yet answered. */
    let outstanding = voters;
    let done = false;
    const finish = (v: Prepared) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    const answered = (found: Lookup, voter: boolean) => {
      if (found.refused) {
        parts.store.hlc.observe(found.refused);
        if (voter) refused++;
        return;
      }
      if (voter) granted++;
      // The newest copy becomes the record the round builds on, and the requests that made it are
      // then this node's to carry on in the accept (read-modify-write.ts), or their retries, meeting
      // replicas that hold the new record without them, would apply them again.
      if (found.record && parts.view.drops() === drops)
        parts.copies.take(
          { key, record: found.record, ...(found.madeBy && { madeBy: found.madeBy }) },
          { ownRoundBallot: ballot },
        );
      const heard = found.heard ?? [];
      for (const request of heard.length > 0 ? [...found.known, ...heard] : found.known) {
        // One this replica only heard of is known all the same (its round must not apply it again),
        // but the replica counts as none of those that remember it (RequestLog.hear).
        const counts = voter && !heard.includes(request);
        // Every copy of the request in the batch (a caller's retry riding with its original) is
        // judged alike: counted for the first copy alone, the others looked short of their quorum,
        // and one was completed again at this round's ballot (leases, seed 250,037).
        for (const p of batch) if (p.op.requestId === request.id) count(p, request, counts);
      }
    };
    const count = (p: Pending, request: AppliedRequest, counts: boolean) => {
      // Replicas remember the outcome of the round they took it with. A request applied again (its
      // first round missed its quorum, and a retry's round found it nowhere) has a newer outcome,
      // which replaces the older: only replicas that remember that one count toward the W that make
      // it chosen, or a retry would be answered with a value no record holds.
      const first = !p.known;
      const order = p.known ? compareOutcomes(request.outcome, p.known) : 1;
      if (order < 0) return;
      if (order > 0) {
        p.known = request.outcome;
        p.knownBy = 0;
      }
      if (counts) p.knownBy++;
      // Kept here as heard of, so that a later round here that hears no replica that remembers it
      // does not apply it again, though it counts for none (RequestLog.hear).
      if (first) parts.requests.hear(key, request, clock.now());
    };
    const prepare = { ballot, requestIds, ringEpoch: epoch };
    const ask = (replica: string) => {
      const lookup = () => parts.view.transport.lookup(replica, key, prepare, deadlineMs);
      void askReplica(clock, deadlineMs, lookup, () => done).then((found) => {
        if (done) return;
        if (found instanceof NewerRing) {
          // This node's ring is out of date: no promise counts on it. Nothing was applied.
          void parts.view.fetchRing(found.nodeId, found.epoch);
          return finish(
            new RingCacheError(
              'UNAVAILABLE',
              `${kind} of key '${key}' not applied: it was counted on ring epoch ${epoch}, but node ${found.nodeId} holds epoch ${found.epoch}; retry`,
            ),
          );
        }
        const voter = preferenceList.includes(replica);
        if (!(found instanceof RingCacheError)) answered(found, voter);
        if (voter) outstanding--;
        if (granted >= needed && (granted >= wanted() || outstanding === 0)) return finish(grant(granted));
        if (!voter || outstanding + granted >= needed) return;
        if (refused > 0) return finish('contended');
        finish(
          new RingCacheError(
            'QUORUM_NOT_MET',
            `${kind} of key '${key}' not applied: ${granted} of the ${needed} other replicas it must read first answered before the deadline`,
          ),
        );
      });
    };
    for (const replica of others) ask(replica);
  });
}
