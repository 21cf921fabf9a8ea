import {
  UnacknowledgedWrite,
  type Consistency,
  type Operation,
  type OperationResult,
  type Outcome,
} from '../cluster/replication/operation';
import type { Lookup, Prepare, ReplicaWrite } from '../cluster/peer-transport';
import type { RangeDiff, RangeDigests, RangeEntry } from '../cluster/recovery/anti-entropy';
import type { AppliedRequest } from '../cluster/replication/request-log';
import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import {
  KEEP_TTL_INDEX,
  OpCode,
  packFrame,
  unpackFrame,
  type PackedRecord,
  type PackedResult,
} from '../proto/packed';
import { wireCodeOf } from '../proto/status-codes';
import type { StoreRecord, ValueFlags } from '../store/types';
import { consistencyFromWire, remainingTtlMs, setModeFromWire, shown } from './operation-wire';

/**
 * Cache.PipelinePacked and the Peer streams, read straight into the core's types and written straight
 * from them (layouts in src/proto/packed.ts): no protobuf-shaped objects in between on the data path.
 */

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const EMPTY = Buffer.alloc(0);
const bin = (v: unknown): Buffer =>
  Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : EMPTY;

/**
 * Reads the fields of a packed operation strictly: a field of the wrong msgpack type is the caller's
 * INVALID_ARGUMENT, named, as the unary path would answer it; nothing is read as a default instead.
 * Throws; operationFromPacked returns what it throws.
 */
function invalid(field: string, what: string, v: unknown): never {
  const type = v === null ? 'nil' : Buffer.isBuffer(v) || v instanceof Uint8Array ? 'bin' : typeof v;
  throw new RingCacheError('INVALID_ARGUMENT', `${field} must be ${what}; got ${type} ${shown(v)}`);
}

function keyAt(p: readonly unknown[]): string {
  const v = p[1];
  return typeof v === 'string' ? v : invalid('key', 'a string (msgpack str)', v);
}

function bytesAt(p: readonly unknown[], i: number, field: string): Buffer {
  const v = p[i];
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return invalid(field, 'bytes (msgpack bin)', v);
}

/** An integer field; absent (nil or missing) reads as 0, as an unset proto3 field. */
function intAt(p: readonly unknown[], i: number, field: string): number {
  const v = p[i];
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' && Number.isSafeInteger(v)
    ? v
    : invalid(field, 'an integer within +-(2^53-1)', v);
}

function consistencyAt(p: readonly unknown[], i: number): Consistency {
  const v = p[i];
  return v === undefined || v === null ? 'default' : consistencyFromWire(v);
}

/** The optional keepTtl flag of a set or cas: true, or nil/absent for false (packed.ts). */
function keepTtlAt(p: readonly unknown[]): { keepTtl?: true } {
  const v = p[KEEP_TTL_INDEX];
  if (v === undefined || v === null || v === false) return {};
  return v === true ? { keepTtl: true } : invalid('keep_ttl', 'a boolean', v);
}

/** The optional request id a read-modify-write carries last (packed.ts layouts). */
function requestIdAt(p: readonly unknown[], i: number): { requestId?: string } {
  const id = p[i];
  if (id === undefined || id === null || id === '') return {};
  if (typeof id !== 'string') return invalid('request_id', 'a string', id);
  if (id.length > MAX_REQUEST_ID_LENGTH) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `request_id is ${id.length} characters; at most ${MAX_REQUEST_ID_LENGTH}`,
    );
  }
  return { requestId: id };
}

/** Longest request id: the SDK's are about 20 characters; a client's own UUIDs are 36. */
const MAX_REQUEST_ID_LENGTH = 128;

/** A packed operation as the core's; undefined when its kind is unknown, an error when a field is. */
export function operationFromPacked(p: readonly unknown[]): Operation | RingCacheError | undefined {
  try {
    return readPacked(p);
  } catch (err) {
    if (err instanceof RingCacheError) return err;
    throw err;
  }
}

function readPacked(p: readonly unknown[]): Operation | RingCacheError | undefined {
  switch (p[0]) {
    case 0:
      return { kind: 'get', key: keyAt(p), consistency: consistencyAt(p, 2) };
    case 1: {
      const mode = setModeFromWire(intAt(p, 5, 'mode'));
      if (mode instanceof RingCacheError) return mode;
      return {
        kind: 'set',
        key: keyAt(p),
        value: bytesAt(p, 2, 'value'),
        flags: intAt(p, 3, 'flags') as ValueFlags,
        ttlMs: intAt(p, 4, 'ttl_ms'),
        mode,
        consistency: consistencyAt(p, 6),
        ...keepTtlAt(p),
        ...requestIdAt(p, 7),
      };
    }
    case 2:
      return { kind: 'delete', key: keyAt(p), consistency: consistencyAt(p, 2) };
    case 3:
      return {
        kind: 'touch',
        key: keyAt(p),
        ttlMs: intAt(p, 2, 'ttl_ms'),
        consistency: consistencyAt(p, 3),
        ...requestIdAt(p, 4),
      };
    case 4:
      return {
        kind: 'incr',
        key: keyAt(p),
        delta: intAt(p, 2, 'delta'),
        initial: intAt(p, 3, 'initial'),
        ttlMs: intAt(p, 4, 'ttl_ms'),
        consistency: consistencyAt(p, 5),
        ...requestIdAt(p, 6),
      };
    case 5: {
      if (!p[7])
        return new RingCacheError(
          'INVALID_ARGUMENT',
          'expected is missing: pass the version returned by Get',
        );
      const node = p[7];
      if (typeof node !== 'string') return invalid('expected.node', 'a string', node);
      return {
        kind: 'cas',
        key: keyAt(p),
        expected: { timestamp: intAt(p, 6, 'expected.timestamp'), node },
        value: bytesAt(p, 2, 'value'),
        flags: intAt(p, 3, 'flags') as ValueFlags,
        ttlMs: intAt(p, 4, 'ttl_ms'),
        consistency: consistencyAt(p, 5),
        ...keepTtlAt(p),
        ...requestIdAt(p, 8),
      };
    }
    default:
      return undefined;
  }
}

/** An outcome in packed form; `nowMs` turns a get's absolute expiry into the remaining TTL. */
export function outcomeToPacked(outcome: Outcome, nowMs: number): PackedResult {
  if (outcome instanceof RingCacheError) {
    // A delete applied here before its quorum was missed says so: its retry elsewhere reads "absent".
    if (
      outcome instanceof UnacknowledgedWrite &&
      outcome.applied.kind === 'delete' &&
      outcome.applied.deleted
    )
      return [wireCodeOf[outcome.code], outcome.message, outcome.code, true];
    return [wireCodeOf[outcome.code], outcome.message, outcome.code];
  }
  switch (outcome.kind) {
    case 'get': {
      const e = outcome.entry;
      return e
        ? [
            Code.OK,
            true,
            e.value,
            e.flags,
            e.version.timestamp,
            e.version.node,
            remainingTtlMs(e.expiresAtMs, nowMs),
          ]
        : [Code.OK, false];
    }
    case 'set':
      return [Code.OK, outcome.stored, outcome.version?.timestamp ?? 0, outcome.version?.node ?? ''];
    case 'delete':
      return [Code.OK, outcome.deleted];
    case 'touch':
      return [Code.OK, outcome.found];
    case 'incr':
      return [Code.OK, outcome.value, outcome.version.timestamp, outcome.version.node];
    case 'cas':
      return [Code.OK, outcome.version.timestamp, outcome.version.node];
  }
}

/** A replica write in Peer.Replicate and Peer.Read frames (layout in peer.proto). */
export function writeToPacked(w: ReplicaWrite): PackedRecord {
  const r = w.record;
  const packed: PackedRecord = [
    w.key,
    r.value,
    r.flags,
    r.version.timestamp,
    r.version.node,
    r.expiresAtMs,
    r.tombstone,
    w.hintFor ?? '',
  ];
  if (w.requests) for (const r of w.requests) packed.push(r.id, appliedToPacked(r.outcome));
  else if (w.madeBy && w.madeBy.length > 0) {
    // In the hint_for slot, so that a release before it, which reads a string there, takes the
    // write for the plain one it is and leaves the requests alone.
    const slot: unknown[] = [w.hintFor ?? ''];
    for (const r of w.madeBy) slot.push(r.id, appliedToPacked(r.outcome));
    packed[7] = slot;
  }
  return packed;
}

/** A read-modify-write's outcome as replicas keep it: its kind's code, then its packed result. */
export function appliedToPacked(outcome: OperationResult): unknown[] {
  const packed: unknown[] = outcomeToPacked(outcome, 0);
  packed[0] = OpCode[outcome.kind];
  return packed;
}

export function appliedFromPacked(p: unknown): OperationResult | undefined {
  if (!Array.isArray(p)) return undefined;
  const version = (i: number) => (str(p[i + 1]) ? { timestamp: num(p[i]), node: str(p[i + 1]) } : undefined);
  switch (p[0]) {
    case OpCode.set:
      return { kind: 'set', stored: p[1] === true, version: version(2) };
    case OpCode.delete:
      return { kind: 'delete', deleted: p[1] === true, version: undefined };
    case OpCode.touch:
      return { kind: 'touch', found: p[1] === true };
    case OpCode.incr: {
      const v = version(2);
      return v && { kind: 'incr', value: num(p[1]), version: v };
    }
    case OpCode.cas: {
      const v = version(1);
      return v && { kind: 'cas', version: v };
    }
    default:
      return undefined;
  }
}

/** A read-modify-write's prepare on the Read stream: [key, [requestId...], ballotTimestamp, ballotNode]. */
export function prepareToPacked(key: string, prepare: Prepare): unknown[] {
  return [key, prepare.requestIds, prepare.ballot.timestamp, prepare.ballot.node];
}

/** A prepare from a peer, or undefined when the item is not one (a plain read is a bare key). */
export function prepareFromPacked(p: unknown): { key: string; prepare: Prepare } | undefined {
  if (!Array.isArray(p) || typeof p[0] !== 'string' || !Array.isArray(p[1]) || !str(p[3])) return undefined;
  const requestIds = (p[1] as unknown[]).filter((id): id is string => typeof id === 'string');
  return { key: p[0], prepare: { ballot: { timestamp: num(p[2]), node: str(p[3]) }, requestIds } };
}

/**
 * A Read stream's answer to one item (a read or a prepare) from a replica that is catching up:
 * [UNAVAILABLE]. Nodes that predate it read it as an unreadable answer, which no quorum counts either.
 */
export const NOT_CAUGHT_UP_PACKED: readonly unknown[] = [Code.UNAVAILABLE];

/** Whether a Read stream's answer to one item is NOT_CAUGHT_UP_PACKED. */
export function isNotCaughtUpPacked(p: unknown): boolean {
  return Array.isArray(p) && p.length === 1 && p[0] === Code.UNAVAILABLE;
}

/**
 * A prepare's answer: [record or [], [requestId, outcome]..., refusedTimestamp?, refusedNode?,
 * [requestId, outcome]... heard of]. The heard-of requests come last (after nulls where nothing was
 * refused), so that older nodes read the rest as before.
 */
export function lookupToPacked(key: string, found: Lookup): unknown[] {
  // The requests that made the record go in its hint_for slot, as on a copy (writeToPacked).
  const record = found.record && { key, record: found.record, ...(found.madeBy && { madeBy: found.madeBy }) };
  const packed: unknown[] = [record ? writeToPacked(record) : [], requestsToPacked(found.known)];
  if (found.refused) packed.push(found.refused.timestamp, found.refused.node);
  if (found.heard && found.heard.length > 0) {
    if (!found.refused) packed.push(null, null);
    packed.push(requestsToPacked(found.heard));
  }
  return packed;
}

function requestsToPacked(requests: readonly AppliedRequest[]): unknown[] {
  const out: unknown[] = [];
  for (const r of requests) out.push(r.id, appliedToPacked(r.outcome));
  return out;
}

/**
 * A prepare's answer, or undefined when any part of it is unreadable: half of one must not read as
 * "no copy, never applied", or the coordinator could apply a request a second time.
 */
export function lookupFromPacked(p: unknown): Lookup | undefined {
  if (!Array.isArray(p) || !Array.isArray(p[0]) || !Array.isArray(p[1])) return undefined;
  const held = p[0] as unknown[];
  const write = held.length > 0 ? writeFromPacked(held) : undefined;
  if (held.length > 0 && !write) return undefined;
  const known = requestsFromPacked(p[1] as unknown[], 0);
  if (!known) return undefined;
  const found: Lookup = { record: write?.record, known };
  if (write?.madeBy) found.madeBy = write.madeBy;
  if (str(p[3])) found.refused = { timestamp: num(p[2]), node: str(p[3]) };
  if (p.length > 4) {
    const heard = Array.isArray(p[4]) ? requestsFromPacked(p[4] as unknown[], 0) : undefined;
    if (!heard) return undefined;
    if (heard.length > 0) found.heard = heard;
  }
  return found;
}

/**
 * The requests a batch of catch-up records carries (SyncResponse.requests): [key, id, outcome, ...]
 * as one packed frame [0, 0, ...], or undefined when none of them carries any.
 */
export function syncedRequestsToPacked(writes: readonly ReplicaWrite[]): Buffer | undefined {
  const items: unknown[] = [];
  for (const w of writes) {
    if (w.requests) for (const r of w.requests) items.push(w.key, r.id, appliedToPacked(r.outcome));
  }
  return items.length > 0 ? packFrame(0, 0, items) : undefined;
}

/**
 * Puts a SyncResponse's requests on the records of their keys. A request that names no key of the
 * batch, or cannot be read, is dropped: a peer's bytes are checked like any other input.
 */
export function attachSyncedRequests(writes: ReplicaWrite[], payload: Buffer | undefined): void {
  if (!payload || payload.length === 0) return;
  let frame: unknown[];
  try {
    frame = unpackFrame(payload);
  } catch {
    return;
  }
  const byKey = new Map<string, AppliedRequest[]>();
  for (let i = 2; i + 2 < frame.length; i += 3) {
    const key = str(frame[i]);
    const id = str(frame[i + 1]);
    const outcome = appliedFromPacked(frame[i + 2]);
    if (!id || !outcome) continue;
    const list = byKey.get(key);
    if (list) list.push({ id, outcome });
    else byKey.set(key, [{ id, outcome }]);
  }
  for (const w of writes) {
    const requests = byKey.get(w.key);
    if (requests) w.requests = requests;
  }
}

/** (request id, applied outcome) pairs from `from` on; undefined when one is unreadable. */
function requestsFromPacked(p: readonly unknown[], from: number): AppliedRequest[] | undefined {
  const out: AppliedRequest[] = [];
  for (let i = from; i < p.length; i += 2) {
    const id = str(p[i]);
    const outcome = appliedFromPacked(p[i + 1]);
    if (!id || !outcome) return undefined;
    out.push({ id, outcome });
  }
  return out;
}

/** A packed record from a peer; undefined when it carries no version (a malformed peer). */
export function writeFromPacked(p: readonly unknown[]): ReplicaWrite | undefined {
  const node = str(p[4]);
  if (!node) return undefined;
  const record: StoreRecord = {
    value: bin(p[1]),
    flags: num(p[2]) as ValueFlags,
    version: { timestamp: num(p[3]), node },
    expiresAtMs: num(p[5]),
    tombstone: p[6] === true,
  };
  const write: ReplicaWrite = { key: str(p[0]), record };
  const slot = p[7];
  const hintFor = Array.isArray(slot) ? str(slot[0]) : str(slot);
  if (hintFor) write.hintFor = hintFor;
  if (Array.isArray(slot) && slot.length > 1) {
    // Unreadable, they are left out: the write stays the plain one it is.
    const madeBy = requestsFromPacked(slot, 1);
    if (madeBy) write.madeBy = madeBy;
  }
  if (p.length > 8) {
    // An accept whose requests cannot be read must not be taken as a plain, unfenced write.
    const requests = requestsFromPacked(p, 8);
    if (!requests || requests.length === 0) return undefined;
    write.requests = requests;
  }
  return write;
}

/**
 * A record in the answer to a Peer.Read of `key`, with the requests that made it: under the key
 * asked, whatever key the peer put in it, and never a hint or an accept (a copy is a plain write).
 */
export function copyFromPacked(p: readonly unknown[], key: string): ReplicaWrite | undefined {
  const write = writeFromPacked(p);
  if (!write) return undefined;
  if (write.hintFor !== undefined || write.requests !== undefined) {
    return write.madeBy ? { key, record: write.record, madeBy: write.madeBy } : { key, record: write.record };
  }
  write.key = key; // the usual answer: the object decoded is the copy, with no second allocation
  return write;
}

/** What a Peer.Compare request wants, by its number on the wire. */
const WANTS = ['records', 'ranges', 'listed'] as const;

/** Peer.Compare's request (layout in peer.proto). */
export function digestsToPacked(d: RangeDigests): unknown[] {
  return [
    d.from,
    d.epoch,
    d.ranges.map(([range, [a, b]]) => [range, a, b]),
    WANTS.indexOf(d.want ?? 'records'),
  ];
}

export function digestsFromPacked(p: unknown): RangeDigests | undefined {
  if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'number' || !Array.isArray(p[2])) {
    return undefined;
  }
  const ranges: [number, [number, number]][] = [];
  for (const r of p[2] as unknown[]) {
    if (!Array.isArray(r) || r.length !== 3 || !r.every((n) => typeof n === 'number')) return undefined;
    ranges.push([r[0] as number, [r[1] as number, r[2] as number]]);
  }
  // A member that does not know the fourth element sends none: it wants records.
  const want = p[3] === undefined ? 'records' : typeof p[3] === 'number' ? WANTS[p[3]] : undefined;
  if (want === undefined) return undefined;
  return { from: p[0], epoch: p[1], ranges, want };
}

/** Peer.Compare's reply (layout in peer.proto). */
export function diffToPacked(d: RangeDiff): unknown[] {
  return [
    d.epochMismatch,
    d.evicting,
    d.differing.map(([range, entries]) => [
      range,
      entries.map((e) => [e.key, e.version.timestamp, e.version.node, e.tombstone]),
    ]),
    d.building,
    d.rangesOnly,
  ];
}

/** A Compare reply, or undefined when any part is unreadable (then nothing is repaired). */
export function diffFromPacked(p: unknown): RangeDiff | undefined {
  if (!Array.isArray(p) || !Array.isArray(p[2])) return undefined;
  const differing: [number, RangeEntry[]][] = [];
  for (const r of p[2] as unknown[]) {
    if (!Array.isArray(r) || typeof r[0] !== 'number' || !Array.isArray(r[1])) return undefined;
    const entries: RangeEntry[] = [];
    for (const e of r[1] as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !str(e[2]))
        return undefined;
      entries.push({ key: e[0], version: { timestamp: e[1], node: str(e[2]) }, tombstone: e[3] === true });
    }
    differing.push([r[0], entries]);
  }
  return {
    epochMismatch: p[0] === true,
    building: p[3] === true,
    rangesOnly: p[4] === true,
    evicting: p[1] === true,
    differing,
  };
}
