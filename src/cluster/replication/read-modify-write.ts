import { RingCacheError } from '../../errors';
import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import { compareVersions, type Version } from '../../store/version';
import type { ClusterView } from '../cluster-view';
import type { BallotFence } from './ballots';
import { applyLocal } from './local-ops';
import type { OperationResult, Outcome } from './operation';
import type { ReplicationSettings } from './quorum';
import type { RecordCopies } from './record-copies';
import type { ReplicaWriter, WriteAcks } from './replica-write';
import { namesVersion, wroteRecord, type AppliedRequest, type RequestLog } from './request-log';
import {
  applyCopy,
  prepareRound,
  writeQuorum,
  type Pending,
  type Request,
  type RoundParts,
} from './round-prepare';

/** Said of a round that W replicas did not take: whether it took effect is for its retry to find. */
const RETRY_APPLIES_ONCE =
  'It may not have taken effect; a retry with the same request id applies it, or returns its outcome if it did, never both.';

/** The largest record a round that wrote nothing sends its outcomes with (ReplicaWriter.share). */
const SHARED_RECORD_BYTES = 16 * 1024;

/** A round that met a higher ballot starts over after a random pause in this range (no lockstep). */
const CONTENDED_BACKOFF_MS = [5, 30] as const;

/** An operation of a round and what it came to. */
interface Done {
  p: Pending;
  outcome: Outcome;
}

/**
 * How the key's coordinator runs a read-modify-write (incr, cas, touch, a conditional set) exactly
 * once. The operations on one key go in rounds, one round at a time; the operations
 * that arrive during a round ride together in the next, so a hot counter costs one round per batch,
 * not per increment. A round is one CASPaxos change (ballots.ts):
 * 1. Ballot: one new HLC version per operation; the highest is the ballot, and the key's record
 *    ends the round at exactly that version.
 * 2. Prepare (the catch-up): this node and N - W + 1 replicas in all (this node's copy counts for
 *    nothing while it catches up) promise the ballot and send their copy; the newest is taken. Those
 *    that hold the outcome of a request of the batch end it: it was applied, and is not applied again.
 *    A replica that promised a higher ballot (another node coordinates the key right now) sends the
 *    round back to 1 after a pause. It waits for those answers only, never past the earliest deadline.
 * 3. Past its deadline an operation is not applied: its caller has been told DEADLINE_EXCEEDED.
 * 4. Apply the batch in order to a copy of the record held aside, and accept: send the record with
 *    the batch's requests to the replicas, needing at least the configured W of them (a per-call
 *    consistency may raise that, never lower it: 2. relies on it), this node included. A replica that
 *    promised a higher ballot meanwhile refuses, so of two coordinators at most one completes. Once
 *    the others answered, this node stores the record and remembers each outcome under its request
 *    id, unless every other replica refused it: that round leaves nothing behind, and its retry
 *    applies it.
 */
export class ReadModifyWriter {
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #rep: ReplicationSettings;
  readonly #writer: ReplicaWriter;
  readonly #requests: RequestLog;
  readonly #fence: BallotFence;
  readonly #random: () => number;
  /** Keys with a round running, and the operations waiting for the next one. */
  readonly #queued = new Map<string, Pending[]>();
  /** What a round's prepare works with (round-prepare.ts). */
  readonly #parts: RoundParts;
  /** Where a round's record is computed (#applyAndAccept); made at the first round. */
  #sandbox: ReturnType<Store['sandbox']> | undefined;

  constructor(opts: {
    view: ClusterView;
    store: Store;
    replication: ReplicationSettings;
    writer: ReplicaWriter;
    requests: RequestLog;
    /** Copies from prepare answers are taken with the requests that made them. */
    copies: RecordCopies;
    fence: BallotFence;
    random?: () => number;
  }) {
    this.#view = opts.view;
    this.#store = opts.store;
    this.#rep = opts.replication;
    this.#writer = opts.writer;
    this.#requests = opts.requests;
    this.#fence = opts.fence;
    this.#random = opts.random ?? Math.random;
    this.#parts = {
      view: this.#view,
      store: this.#store,
      copies: opts.copies,
      fence: this.#fence,
      requests: this.#requests,
      rep: this.#rep,
    };
  }

  run(op: Request, preferenceList: readonly string[], deadlineMs: number): Outcome | Promise<Outcome> {
    const nowMs = this.#view.scheduler.now();
    // A copy of a request a round here had W replicas take: answered as its original was.
    const acknowledged = this.#requests.getAcknowledged(op.requestId, op.key, nowMs);
    if (acknowledged) return acknowledged;
    const known = this.#requests.get(op.requestId, op.key, nowMs);
    if (this.#rep.factor === 1) {
      if (known) return known;
      const local = applyLocal(this.#store, op);
      this.#requests.remember(op.key, { id: op.requestId, outcome: local.result }, nowMs);
      return local.result;
    }
    return new Promise<Outcome>((resolve) => {
      const pending: Pending = { op, deadlineMs, resolve, known, knownBy: 0 };
      const waiting = this.#queued.get(op.key);
      if (waiting) return void waiting.push(pending);
      this.#queued.set(op.key, []);
      void this.#rounds(op.key, [pending], preferenceList, this.#view.epoch());
    });
  }

  /**
   * Runs rounds for `key` until no operation waits for one. `epoch`: that of the ring
   * `preferenceList` was taken from, on which a round counts its answers (NewerRing).
   */
  async #rounds(
    key: string,
    batch: Pending[],
    preferenceList: readonly string[],
    epoch: number,
  ): Promise<void> {
    for (;;) {
      try {
        await this.#round(key, batch, preferenceList, epoch);
      } catch (err) {
        const failed = err instanceof RingCacheError ? err : new RingCacheError('INTERNAL', String(err));
        for (const p of batch) p.resolve(failed);
      }
      const next = this.#queued.get(key) ?? [];
      if (next.length === 0) {
        this.#queued.delete(key);
        return;
      }
      this.#queued.set(key, []);
      batch = next;
      preferenceList = this.#view.ring().preferenceList(key, this.#rep.factor);
      epoch = this.#view.epoch();
    }
  }

  async #round(
    key: string,
    batch: Pending[],
    preferenceList: readonly string[],
    epoch: number,
  ): Promise<void> {
    const clock = this.#view.scheduler;
    for (;;) {
      batch = this.#dropExpired(this.#answerAcknowledged(key, batch));
      if (batch.length === 0) return;
      const deadlineMs = Math.min(...batch.map((p) => p.deadlineMs));
      const versions = batch.map(() => this.#store.hlc.now());
      // The highest of the round's versions (the last taken): the record's version when it ends.
      const ballot = this.#store.hlc.now();
      versions.push(ballot);
      versions.shift();
      const prepared = await prepareRound(this.#parts, key, ballot, batch, preferenceList, epoch, deadlineMs);
      if (prepared instanceof RingCacheError) {
        // Also a retry known here: known is not acknowledged (that was answered above), since the
        // round that applied it may have missed its quorum. Only a round that sees W replicas hold
        // it answers it as applied.
        for (const p of batch)
          p.resolve(p.known ? mayHaveApplied(p.op.kind, key, prepared.message) : prepared);
        return;
      }
      if (prepared === 'granted') {
        batch = this.#dropExpired(batch);
        if (batch.length === 0) return;
        // A plain write newer than the ballot, or a higher ballot, reached this node meanwhile.
        if (!this.#fence.accepts(key, ballot, this.#store.versionOf(key))) {
          return this.#applyAndAccept(key, batch, versions, ballot, preferenceList, epoch, deadlineMs);
        }
      }
      const pauseMs =
        CONTENDED_BACKOFF_MS[0] + this.#random() * (CONTENDED_BACKOFF_MS[1] - CONTENDED_BACKOFF_MS[0]);
      if (clock.now() + pauseMs >= deadlineMs) {
        const why = 'another node was coordinating the key until the deadline';
        for (const p of batch) {
          p.resolve(
            p.known
              ? mayHaveApplied(p.op.kind, key, why)
              : new RingCacheError('DEADLINE_EXCEEDED', `${p.op.kind} of key '${key}' not applied: ${why}`),
          );
        }
        return;
      }
      await new Promise<void>((resume) => clock.setTimeout(resume, pauseMs));
    }
  }

  /**
   * Answers the copies of requests a round here had W replicas take since they arrived (a copy that
   * came while that round ran waits for the next): with the outcome their original was answered.
   */
  #answerAcknowledged(key: string, batch: Pending[]): Pending[] {
    const now = this.#view.scheduler.now();
    return batch.filter((p) => {
      const outcome = this.#requests.getAcknowledged(p.op.requestId, key, now);
      if (outcome) p.resolve(outcome);
      return !outcome;
    });
  }

  /** Answers DEADLINE_EXCEEDED to the operations past their deadline that were not applied before. */
  #dropExpired(batch: Pending[]): Pending[] {
    const now = this.#view.scheduler.now();
    return batch.filter((p) => {
      if (p.known || now < p.deadlineMs) return true;
      p.resolve(
        new RingCacheError(
          'DEADLINE_EXCEEDED',
          `${p.op.kind} of key '${p.op.key}' not applied: its deadline passed during catch-up`,
        ),
      );
      return false;
    });
  }

  async #applyAndAccept(
    key: string,
    batch: Pending[],
    versions: Version[],
    ballot: Version,
    preferenceList: readonly string[],
    epoch: number,
    deadlineMs: number,
  ): Promise<void> {
    const now = this.#view.scheduler.now();
    // The round's record is computed aside: it becomes this node's copy once the others answered.
    const sandbox = (this.#sandbox ??= this.#store.sandbox());
    const held = this.#store.readRecord(key);
    sandbox.seed(key, held);
    /** The operations this round applies for the first time, by request id; the last that wrote. */
    const fresh = new Map<string, Done>();
    let lastWriter: Done | undefined;
    /** Copies of a request applied earlier in this batch, each with the one it copies. */
    const copies: { d: Done; of: Done }[] = [];
    const done = batch.map((p, i): Done => {
      // Copies of one request (a caller's retry through another node, forwarded here) can ride one
      // round, or the next before this one ended: their outcome is looked up now, not on arrival.
      p.known ??= this.#requests.get(p.op.requestId, key, now);
      if (p.known) return { p, outcome: p.known };
      const original = fresh.get(p.op.requestId);
      if (original) {
        // Its outcome is the original's, as it stands once the round ends (its version may change).
        const d = { p, outcome: original.outcome };
        copies.push({ d, of: original });
        return d;
      }
      try {
        const local = applyLocal(sandbox.store, p.op, versions[i]);
        const d = { p, outcome: local.result };
        fresh.set(p.op.requestId, d);
        if (local.written) lastWriter = d;
        return d;
      } catch (err) {
        if (err instanceof RingCacheError) return { p, outcome: err };
        throw err;
      }
    });
    const w = writeQuorum(batch, this.#rep);
    // A retry is judged by its own W, which its first round waited for, not by the batch's: riding
    // with a call at ALL, a request that W replicas remember was acknowledged all the same, with the
    // version it wrote, and must not be written again at this round's.
    const ownW = (p: Pending) => writeQuorum([p], this.#rep);
    // Whether a known request's write is the record held, and the record may be written again for it:
    // its outcome's version is the record's (the last write of its round), or this node coordinated
    // that round, wrote it there (an earlier write of the round, whose outcome names an earlier
    // version of the batch: RequestLog.written), and fewer replicas remember it than the least W
    // among that round's calls, so that none of their callers was told the record's version. Not a
    // request the round only carried on from an older record, though this node remembers it with the
    // accept that made the record held (acceptedAt): the record's version is then another request's,
    // whose caller may have been told it, and completing the record again at a new ballot took it
    // from them (leases with two coordinators, seed 240,743: a set acknowledged at W = 2 read back at
    // another version).
    const made = (p: Pending) => {
      if (madeRecord(p.known!, held)) return true;
      const written = this.#requests.written(p.op.requestId, key, now);
      return (
        held !== undefined &&
        written !== undefined &&
        compareVersions(written.version, held.version) === 0 &&
        p.knownBy < written.quorum
      );
    };
    // Whether this node took the accept that made the record held, with the request: it then knows
    // every request that made that record (RequestLog.madeBy), and a round that completes it carries
    // them all. A node that did not learns from its prepare only of the requests it asks about:
    // completing the record for those, it would leave the others known to fewer replicas than the
    // record, and their retries, whose prepares meet only replicas that hold the record without
    // them, would apply them again (a shared round's increments counted twice).
    const tookHeld = (p: Pending) => {
      const accepted = this.#requests.acceptedAt(p.op.requestId, key, now);
      return held !== undefined && accepted !== undefined && compareVersions(accepted, held.version) === 0;
    };
    // A retry known here whose write is not in the record held, and which fewer than W of the
    // replicas that answered remember: its round may have missed its quorum, and a round with a
    // higher ballot that never read its record have written over it (the record does not say which
    // requests it holds). Answered as applied, it would report an increment the counter lacks;
    // applied again, it would count twice where that round did read it. Neither: its outcome cannot
    // be told, and its caller is told so. Where W remember it, it was chosen, and every later record
    // holds it.
    // So too for one whose write is the record held, while some replicas were not heard: its first
    // round may have reached W with them (its caller told the version it wrote), and completing it
    // again would give the record a version that caller never saw; or it missed its quorum, and
    // needs completing. Only a prepare that heard every replica tells the two apart.
    for (const d of done) {
      const p = d.p;
      if (!p.known || p.knownBy >= ownW(p) || !wroteRecord(p.known)) continue;
      const why: Undecided | undefined = !made(p)
        ? tookHeld(p)
          ? "another call's"
          : 'replaced'
        : !tookHeld(p)
          ? 'made elsewhere'
          : (p.unheard ?? 0) > 0
            ? 'unheard'
            : undefined;
      if (why)
        d.outcome = new RingCacheError('QUORUM_NOT_MET', undecided(p.op.kind, key, p.knownBy, ownW(p), why));
    }
    const record = sandbox.store.readRecord(key);
    if (!record) {
      // Nothing held (an increment that expired at once): nothing to send.
      this.#remember(key, fresh, now);
      for (const d of done) d.p.resolve(d.outcome);
      return;
    }
    // A retry (a known request) is answered with its first outcome, version included, and writes
    // nothing new when W of the replicas that answered the prepare hold its outcome: each of them
    // accepted the write that carried it, so it is durable, and any later prepare (N - W + 1
    // replicas) meets one that knows it. Restamping the record at this round's ballot would report a
    // version the caller never saw (its next cas on the version it was told would conflict) and
    // stream a change that never happened. Nor when a newer write replaced the record it made: that
    // record is another writer's, whose version must stay the one its caller was told. Otherwise
    // (the first round missed its quorum) the record it made is accepted again at the ballot below,
    // with the requests, as CASPaxos completes a value it read, and the retry is answered with the
    // version it ends at.
    const unfinished = done.filter(
      (d) =>
        d.p.known &&
        d.p.knownBy < ownW(d.p) &&
        !(d.outcome instanceof RingCacheError) &&
        made(d.p) &&
        tookHeld(d.p),
    );
    if (!lastWriter && unfinished.length === 0) {
      this.#remember(key, fresh, now);
      this.#requests.acknowledge(
        key,
        batch.filter((p) => p.known && p.knownBy >= ownW(p)).map((p) => p.op.requestId),
      );
      for (const d of done) d.p.resolve(d.outcome);
      // Outcomes that wrote nothing (an ifAbsent that found the key) go to the other replicas too,
      // with the record they were decided on, unawaited: a retry that another node coordinates (two
      // nodes that see different coordinators for a moment) would otherwise find none of them, and
      // might store what its caller was told was not stored. Best effort: one still under way when
      // the retry's prepare reads can be missed, and a record past SHARED_RECORD_BYTES is not sent
      // (a lease is a few bytes; a refused ifAbsent of a large value would cost its size per replica).
      const outcomes = [...fresh.values()].flatMap(({ p, outcome }) =>
        outcome instanceof RingCacheError ? [] : [{ id: p.op.requestId, outcome }],
      );
      if (outcomes.length > 0 && record.value.length <= SHARED_RECORD_BYTES)
        this.#writer.share(key, record, preferenceList, outcomes, deadlineMs);
      return;
    }
    // The record ends the round at the ballot, whatever wrote last: the last writer reports it, and
    // a retry of it is answered with that same version.
    if (lastWriter && compareVersions(record.version, ballot) !== 0)
      lastWriter.outcome = withVersion(lastWriter.outcome, ballot);
    // A completed record's last write (its outcome named the record's version) now names the ballot;
    // an earlier write of its round keeps the version it was first answered with.
    const completed = (outcome: Outcome): Outcome =>
      !lastWriter && held && !(outcome instanceof RingCacheError) && namesVersion(outcome, held.version)
        ? withVersion(outcome, ballot)
        : outcome;
    for (const d of unfinished) d.outcome = completed(d.outcome);
    for (const { d, of } of copies) d.outcome = of.outcome;
    const applied: AppliedRequest[] = [];
    for (const d of done) {
      if (!(d.outcome instanceof RingCacheError)) applied.push({ id: d.p.op.requestId, outcome: d.outcome });
    }
    // The accept carries the requests that made the record held, beside the batch's: a replica that
    // takes the new record, which holds their effect, must know them, or it answers their retries
    // "unknown" and the retry's round applies them again. Completing a record, it carries every one
    // of them, not only those retried now. Building on it, those this node does not know W replicas
    // took: a round that missed its quorum (here, or at a coordinator whose accept this node took)
    // left them on fewer replicas than the record that now holds them will reach.
    const carried: AppliedRequest[] = [];
    if (held) {
      const inBatch = new Set(done.map((d) => d.p.op.requestId));
      for (const r of this.#requests.madeBy(key, held.version, now)) {
        if (inBatch.has(r.id)) continue;
        if (unfinished.length > 0)
          carried.push({ id: r.id, outcome: completed(r.outcome) as OperationResult });
        else if (!this.#requests.isAcknowledged(r.id)) carried.push(r);
      }
      applied.push(...carried);
    }
    const accepted = { ...record, version: ballot };
    // This node takes the record (counted as one of W) once the others answered its accept, unless
    // every one of them refused it (each promised another coordinator's higher ballot), or one did
    // and none took it (WriteAcks.abandoned): that round leaves no copy and no outcome here, and
    // its retry applies its requests, once. Kept here, the copy could be read by a later round, or
    // the outcome answered to a retry, while the value that won holds neither (ballots.ts hold).
    this.#fence.hold(key, ballot);
    let acks: WriteAcks;
    try {
      acks = await this.#writer.replicate(
        key,
        accepted,
        preferenceList,
        w,
        deadlineMs,
        applied,
        epoch,
        'unlessAllRefuse',
      );
      if (!acks.abandoned) {
        // Watchers here see the change the round made (a touch, say), as when it was applied here.
        applyCopy(this.#store, key, accepted, sandbox.lastChange());
        const nowMs = this.#view.scheduler.now();
        this.#fence.reached(key, ballot, nowMs);
        // The least W among the calls this round wrote: only while fewer replicas remember one of
        // them was none of their callers told the record's version (made, above).
        const leastW = Math.min(...done.map((d) => ownW(d.p)));
        this.#remember(key, fresh, nowMs, ballot, leastW);
        // The retries it completed, and the requests carried with them, now answer as the record
        // ended, here as on the replicas that took the accept.
        for (const d of unfinished) {
          if (!(d.outcome instanceof RingCacheError))
            this.#requests.remember(key, { id: d.p.op.requestId, outcome: d.outcome }, nowMs, ballot, leastW);
        }
        for (const r of carried) this.#requests.remember(key, r, nowMs, ballot);
        if (acks.acknowledged >= w && !acks.newer)
          this.#requests.acknowledge(
            key,
            applied.map((a) => a.id),
          );
      }
    } finally {
      this.#fence.release(key);
    }
    this.#answer(key, done, acks, w, epoch);
  }

  /**
   * Outcomes applied this round, each under its request id, as their callers are told them;
   * `accepted`: the version of the record the round wrote with them, if it wrote one.
   */
  #remember(
    key: string,
    fresh: ReadonlyMap<string, Done>,
    nowMs: number,
    accepted?: Version,
    leastW?: number,
  ): void {
    for (const { p, outcome } of fresh.values()) {
      if (!(outcome instanceof RingCacheError))
        this.#requests.remember(key, { id: p.op.requestId, outcome }, nowMs, accepted, leastW);
    }
  }

  #answer(key: string, done: readonly Done[], acks: WriteAcks, w: number, epoch: number): void {
    const newer = acks.newer;
    if (newer) void this.#view.fetchRing(newer.nodeId, newer.epoch);
    for (const { p, outcome } of done) {
      if ((acks.acknowledged >= w && !newer) || outcome instanceof RingCacheError) {
        p.resolve(outcome);
        continue;
      }
      if (newer) {
        p.resolve(
          new RingCacheError(
            'QUORUM_NOT_MET',
            `${p.op.kind} of key '${key}' was counted on ring epoch ${epoch}, but node ${newer.nodeId} holds ` +
              `epoch ${newer.epoch}. ${RETRY_APPLIES_ONCE}`,
          ),
        );
        continue;
      }
      p.resolve(
        new RingCacheError(
          'QUORUM_NOT_MET',
          `${p.op.kind} of key '${key}' was acknowledged by ${acks.acknowledged} of the ${w} replicas it needs ` +
            `(write quorum ${w}, replication factor ${this.#rep.factor}; not acknowledged: ${acks.missing.join(', ') || 'none'}). ` +
            RETRY_APPLIES_ONCE,
        ),
      );
    }
  }
}

/**
 * Whether `held` is the record the request with outcome `known` wrote, as far as its outcome tells:
 * a touch that found the key (its outcome has no version) is taken to have made it.
 */
function madeRecord(known: OperationResult, held: StoreRecord | undefined): boolean {
  if (known.kind === 'touch') return known.found;
  if (known.kind === 'set' && !known.stored) return false;
  return held !== undefined && namesVersion(known, held.version);
}

/** A retry whose earlier round took effect here, which this round could not see W replicas hold. */
function mayHaveApplied(kind: string, key: string, why: string): RingCacheError {
  return new RingCacheError(
    'QUORUM_NOT_MET',
    `${kind} of key '${key}' may have taken effect, but its replicas could not be seen to hold it (${why}). ${RETRY_APPLIES_ONCE}`,
  );
}

/** Why a retry known to fewer than its W replicas cannot be told apart (see #applyAndAccept). */
type Undecided = 'replaced' | "another call's" | 'made elsewhere' | 'unheard';

function undecided(kind: string, key: string, knownBy: number, w: number, why: Undecided): string {
  const rest = {
    replaced:
      'and the record now held was written by a round that may not have read it; whether it holds it cannot be told',
    "another call's":
      "and the record now held holds it but bears another call's version, which that call's caller may have been told: it is not written again",
    'made elsewhere':
      'and this node took none of the writes that made the record held, so it cannot tell which other calls that record holds',
    unheard: 'and the others were not heard; whether it reached them cannot be told',
  }[why];
  return `${kind} of key '${key}' may have taken effect: ${knownBy} of the ${w} replicas it needs were seen to remember it, ${rest}`;
}

/** The outcome of the batch's last write, which now reports the version the round ended at. */
function withVersion(outcome: Outcome, version: Version): Outcome {
  if (outcome instanceof RingCacheError) return outcome;
  switch (outcome.kind) {
    case 'set':
    case 'incr':
    case 'cas':
      return { ...outcome, version };
    default:
      return outcome;
  }
}
