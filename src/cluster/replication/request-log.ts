import { compareVersions, type Version } from '../../store/version';
import type { OperationResult } from './operation';

/** A read-modify-write that was applied: its request id and what it came to. Travels with its replica writes. */
export interface AppliedRequest {
  id: string;
  outcome: OperationResult;
}

/** Whether a request with this outcome wrote a record (an ifAbsent that found the key did not). */
export function wroteRecord(outcome: OperationResult): boolean {
  if (outcome.kind === 'set') return outcome.stored;
  if (outcome.kind === 'touch') return outcome.found;
  return outcome.kind === 'incr' || outcome.kind === 'cas';
}

/** Whether `outcome` reports `version` as the version its write produced. */
export function namesVersion(outcome: OperationResult, version: Version): boolean {
  return (
    'version' in outcome && outcome.version !== undefined && compareVersions(outcome.version, version) === 0
  );
}

export interface RequestLogLimits {
  /** How long an applied request is remembered, in ms: longer than any client keeps retrying one call. */
  windowMs: number;
  /** Most requests remembered; the oldest are forgotten first. */
  maxEntries: number;
}

const NO_REQUESTS: readonly AppliedRequest[] = Object.freeze([]);

/** Two minutes: the SDK's retries of one call end with its deadline (5 s by default, at most a minute). */
export const DEFAULT_REQUEST_LOG: RequestLogLimits = { windowMs: 120_000, maxEntries: 200_000 };

interface Entry {
  key: string;
  outcome: OperationResult;
  atMs: number;
  /** The version of the record whose accept carried it here last, when an accept did. */
  accepted?: Version;
  /**
   * The version of the record this node's own round wrote it into (it coordinated that round), and
   * the least W among that round's calls: not set for a request an accept only carried on from an
   * older record, nor at the replicas, which cannot tell the two apart.
   */
  wrote?: Version;
  wroteQuorum?: number;
  /** A round this node coordinated had it taken by W replicas, as its caller was told. */
  acknowledged?: boolean;
  /**
   * Learnt only from another replica's answer to a prepare (hear): the request was applied
   * somewhere, so this node's rounds do not apply it again, but it took no accept with it and so is
   * none of the replicas that remember it (getFirsthand).
   */
  heard?: boolean;
}

/**
 * The read-modify-writes a replica holds the result of, by request id, so that a retry of one is
 * answered with its first outcome instead of being applied twice. Each replica of the
 * key learns the id with the replica write it made, so a new coordinator (the old one died) finds it
 * during its catch-up. Bounded in time and count: a Map keeps insertion order, so the oldest entries
 * are at the front and are dropped first (this takes the node's clock as monotonic; a clock stepped
 * back only keeps some entries a little longer). Ids are unique per call, so one id names one key.
 */
export class RequestLog {
  readonly #limits: RequestLogLimits;
  readonly #entries = new Map<string, Entry>();
  /** Per key, per accepted record (`timestamp@node`), the ids remembered with it: madeBy in O(1). */
  readonly #byAccept = new Map<string, Map<string, Set<string>>>();

  constructor(limits: RequestLogLimits = DEFAULT_REQUEST_LOG) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The outcome of request `id` on `key`, if this replica applied or received it within the window. */
  get(id: string, key: string, nowMs: number): OperationResult | undefined {
    this.#expire(nowMs);
    const e = this.#entries.get(id);
    return e && e.key === key ? e.outcome : undefined;
  }

  /**
   * The outcome of request `id` on `key` if this node took it with an accept, a copy of its record
   * or a catch-up, not only heard of it (hear): what a prepare counts toward the W replicas that
   * make a request chosen, here and in this node's answers to other coordinators.
   */
  getFirsthand(id: string, key: string, nowMs: number): OperationResult | undefined {
    this.#expire(nowMs);
    const e = this.#entries.get(id);
    return e && e.key === key && !e.heard ? e.outcome : undefined;
  }

  /**
   * The outcome of request `id` on `key` if a round this node coordinated had it taken by W
   * replicas (acknowledge): a copy of the request (sent twice, or retried through this node) is
   * answered with it as it stands, with no round. A round would have to find W replicas that know
   * it among the first to answer its prepare, and would otherwise accept the record again at a new
   * version, one the caller that was answered first never sees.
   */
  getAcknowledged(id: string, key: string, nowMs: number): OperationResult | undefined {
    this.#expire(nowMs);
    const e = this.#entries.get(id);
    return e && e.key === key && e.acknowledged ? e.outcome : undefined;
  }

  /** The version of the record whose accept carried request `id` of `key` here last, if one did. */
  acceptedAt(id: string, key: string, nowMs: number): Version | undefined {
    this.#expire(nowMs);
    const e = this.#entries.get(id);
    return e && e.key === key ? e.accepted : undefined;
  }

  /**
   * The record a round this node coordinated wrote request `id` of `key` into, if one did, with the
   * least W among that round's calls.
   */
  written(id: string, key: string, nowMs: number): { version: Version; quorum: number } | undefined {
    this.#expire(nowMs);
    const e = this.#entries.get(id);
    return e?.key === key && e.wrote && e.wroteQuorum !== undefined
      ? { version: e.wrote, quorum: e.wroteQuorum }
      : undefined;
  }

  /**
   * The requests of `key` whose accept made its record at `version` (or carried them with it): a
   * round that builds on that record carries them on (read-modify-write.ts), or the retries of those
   * it left out would find no replica that knows them. O(1) plus the requests found.
   */
  madeBy(key: string, version: Version, nowMs: number): readonly AppliedRequest[] {
    // Most keys were made by no read-modify-write: every peer read asks, so they cost one lookup.
    if (!this.#byAccept.has(key)) return NO_REQUESTS;
    this.#expire(nowMs);
    const ids = this.#byAccept.get(key)?.get(acceptKey(version));
    if (!ids) return NO_REQUESTS;
    const out: AppliedRequest[] = [];
    for (const id of ids) {
      const e = this.#entries.get(id);
      if (e) out.push({ id, outcome: e.outcome });
    }
    return out;
  }

  /** Whether a round this node coordinated had request `id` taken by W replicas (getAcknowledged). */
  isAcknowledged(id: string): boolean {
    return this.#entries.get(id)?.acknowledged === true;
  }

  /** Marks requests this node remembers as taken by W replicas of `key` (getAcknowledged). */
  acknowledge(key: string, ids: Iterable<string>): void {
    for (const id of ids) {
      const e = this.#entries.get(id);
      if (e && e.key === key) e.acknowledged = true;
    }
  }

  /**
   * `accepted`: the version of the record whose accept carried the request here, if one did;
   * `wroteQuorum`: that record is the one this node's own round wrote the request into, and this is
   * the least W among that round's calls (written).
   */
  remember(
    key: string,
    request: AppliedRequest,
    nowMs: number,
    accepted?: Version,
    wroteQuorum?: number,
  ): void {
    // Expired first: an id reused after its window is a new request, not the old one's retry.
    this.#expire(nowMs);
    const held = this.#entries.get(request.id);
    // Heard of only (hear): what this node now takes firsthand replaces it.
    if (held?.heard && held.key === key) this.#forget(request.id, held);
    else if (held) {
      // The first outcome stands, but for an accept that carried the request again: a round that
      // completed the record another left short of its quorum, at its own ballot. Its outcome then
      // reports the version the record ended at, and a copy of that accept is the one it names.
      if (accepted && held.key === key) {
        this.#unindex(request.id, held);
        held.accepted = accepted;
        held.outcome = request.outcome;
        if (wroteQuorum !== undefined) {
          held.wrote = accepted;
          held.wroteQuorum = wroteQuorum;
        }
        this.#index(request.id, held);
      }
      return;
    }
    const entry: Entry = { key, outcome: request.outcome, atMs: nowMs, accepted };
    if (accepted && wroteQuorum !== undefined) {
      entry.wrote = accepted;
      entry.wroteQuorum = wroteQuorum;
    }
    this.#entries.set(request.id, entry);
    this.#index(request.id, entry);
    if (this.#entries.size > this.#limits.maxEntries) {
      const oldest = this.#entries.entries().next();
      if (!oldest.done) this.#forget(oldest.value[0], oldest.value[1]);
    }
  }

  /**
   * A request that came with a copy of `key`'s record (RecordCopies, a catch-up's pull): remembered
   * with `took`, the version of the record this node took with it, as that record's accept would
   * have; one that wrote nothing, remembered too (its first outcome is the one a retry must get);
   * any other, whose record this node does not hold or may not count itself for, only heard of.
   */
  takeCopied(key: string, request: AppliedRequest, nowMs: number, took: Version | undefined): void {
    if (!wroteRecord(request.outcome)) this.remember(key, request, nowMs);
    else if (took) this.remember(key, request, nowMs, took);
    else this.hear(key, request, nowMs);
  }

  /**
   * Request `id`'s outcome as another replica's prepare answer told it: kept, unless this node
   * remembers the request already, so that a later round here that hears from no replica that
   * remembers it does not apply it again; never counted as a replica that remembers it. Counted, it
   * made a round that missed its quorum look chosen, and its retry was answered as applied after
   * another round had written over its record.
   */
  hear(key: string, request: AppliedRequest, nowMs: number): void {
    this.#expire(nowMs);
    if (this.#entries.has(request.id)) return;
    this.#entries.set(request.id, { key, outcome: request.outcome, atMs: nowMs, heard: true });
    if (this.#entries.size > this.#limits.maxEntries) {
      const oldest = this.#entries.entries().next();
      if (!oldest.done) this.#forget(oldest.value[0], oldest.value[1]);
    }
  }

  /**
   * Whether this replica took the accept of `key`'s record at `version` that carried every request
   * of `requests` (and has not forgotten them): an accept seen again, sent twice.
   */
  tookAccept(key: string, requests: readonly AppliedRequest[], version: Version, nowMs: number): boolean {
    if (requests.length === 0) return false;
    this.#expire(nowMs);
    return requests.every((r) => {
      const e = this.#entries.get(r.id);
      return (
        e !== undefined &&
        e.key === key &&
        e.accepted !== undefined &&
        compareVersions(e.accepted, version) === 0
      );
    });
  }

  /**
   * Every request remembered within the window, by key: what a replica that catches up from this one
   * must remember too (catch-up.ts), or it would answer a retry of one "unknown" and have it applied twice.
   */
  byKey(nowMs: number): Map<string, AppliedRequest[]> {
    this.#expire(nowMs);
    const out = new Map<string, AppliedRequest[]>();
    for (const [id, e] of this.#entries) {
      if (e.heard) continue; // never counted here, so passed on to none
      const list = out.get(e.key);
      if (list) list.push({ id, outcome: e.outcome });
      else out.set(e.key, [{ id, outcome: e.outcome }]);
    }
    return out;
  }

  #expire(nowMs: number): void {
    const cutoff = nowMs - this.#limits.windowMs;
    for (const [id, e] of this.#entries) {
      if (e.atMs > cutoff) break;
      this.#forget(id, e);
    }
  }

  #forget(id: string, e: Entry): void {
    this.#entries.delete(id);
    this.#unindex(id, e);
  }

  #index(id: string, e: Entry): void {
    if (!e.accepted) return;
    let byVersion = this.#byAccept.get(e.key);
    if (!byVersion) this.#byAccept.set(e.key, (byVersion = new Map<string, Set<string>>()));
    const version = acceptKey(e.accepted);
    const ids = byVersion.get(version);
    if (ids) ids.add(id);
    else byVersion.set(version, new Set([id]));
  }

  #unindex(id: string, e: Entry): void {
    if (!e.accepted) return;
    const byVersion = this.#byAccept.get(e.key);
    const version = acceptKey(e.accepted);
    const ids = byVersion?.get(version);
    if (!byVersion || !ids) return;
    ids.delete(id);
    if (ids.size > 0) return;
    byVersion.delete(version);
    if (byVersion.size === 0) this.#byAccept.delete(e.key);
  }
}

function acceptKey(v: Version): string {
  return `${v.timestamp}@${v.node}`;
}
