import type { Operation, OperationResult, Outcome } from '../cluster/replication/operation';
import type { Lookup, Prepare, ReplicaWrite } from '../cluster/peer-transport';
import type { AppliedRequest } from '../cluster/replication/request-log';
import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import { OpCode, type PackedRecord, type PackedResult } from '../proto/packed';
import { wireCodeOf } from '../proto/status-codes';
import type { StoreRecord, ValueFlags } from '../store/types';
import { consistencyFromWire, remainingTtlMs, setModeFromWire } from './operation-wire';

/**
 * Cache.PipelinePacked and the Peer streams, read straight into the core's types and written straight
 * from them (layouts in src/proto/packed.ts): no protobuf-shaped objects in between on the data path.
 */

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const EMPTY = Buffer.alloc(0);
const bin = (v: unknown): Buffer =>
  Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : EMPTY;

/** The optional request id a read-modify-write carries last (packed.ts layouts). */
function requestIdAt(p: readonly unknown[], i: number): { requestId?: string } {
  const id = p[i];
  return typeof id === 'string' && id !== '' ? { requestId: id } : {};
}

/** A packed operation as the core's; undefined when its kind is unknown, an error when a field is. */
export function operationFromPacked(p: readonly unknown[]): Operation | RingCacheError | undefined {
  const key = str(p[1]);
  switch (p[0]) {
    case 0:
      return { kind: 'get', key, consistency: consistencyFromWire(num(p[2])) };
    case 1: {
      const mode = setModeFromWire(num(p[5]));
      if (mode instanceof RingCacheError) return mode;
      return {
        kind: 'set',
        key,
        value: bin(p[2]),
        flags: num(p[3]) as ValueFlags,
        ttlMs: num(p[4]),
        mode,
        consistency: consistencyFromWire(num(p[6])),
        ...requestIdAt(p, 7),
      };
    }
    case 2:
      return { kind: 'delete', key, consistency: consistencyFromWire(num(p[2])) };
    case 3:
      return {
        kind: 'touch',
        key,
        ttlMs: num(p[2]),
        consistency: consistencyFromWire(num(p[3])),
        ...requestIdAt(p, 4),
      };
    case 4:
      return {
        kind: 'incr',
        key,
        delta: num(p[2]),
        initial: num(p[3]),
        ttlMs: num(p[4]),
        consistency: consistencyFromWire(num(p[5])),
        ...requestIdAt(p, 6),
      };
    case 5: {
      if (!p[7])
        return new RingCacheError(
          'INVALID_ARGUMENT',
          'expected is missing: pass the version returned by Get',
        );
      return {
        kind: 'cas',
        key,
        expected: { timestamp: num(p[6]), node: str(p[7]) },
        value: bin(p[2]),
        flags: num(p[3]) as ValueFlags,
        ttlMs: num(p[4]),
        consistency: consistencyFromWire(num(p[5])),
        ...requestIdAt(p, 8),
      };
    }
    default:
      return undefined;
  }
}

/** An outcome in packed form; `nowMs` turns a get's absolute expiry into the remaining TTL. */
export function outcomeToPacked(outcome: Outcome, nowMs: number): PackedResult {
  if (outcome instanceof RingCacheError) return [wireCodeOf[outcome.code], outcome.message, outcome.code];
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

/** A prepare's answer: [record or [], [requestId, outcome]..., refusedTimestamp?, refusedNode?]. */
export function lookupToPacked(key: string, found: Lookup): unknown[] {
  const known: unknown[] = [];
  for (const r of found.known) known.push(r.id, appliedToPacked(r.outcome));
  const packed: unknown[] = [found.record ? writeToPacked({ key, record: found.record }) : [], known];
  if (found.refused) packed.push(found.refused.timestamp, found.refused.node);
  return packed;
}

/**
 * A prepare's answer, or undefined when any part of it is unreadable: half of one must not read as
 * "no copy, never applied", or the coordinator could apply a request a second time.
 */
export function lookupFromPacked(p: unknown): Lookup | undefined {
  if (!Array.isArray(p) || !Array.isArray(p[0]) || !Array.isArray(p[1])) return undefined;
  const held = p[0] as unknown[];
  const record = held.length > 0 ? writeFromPacked(held)?.record : undefined;
  if (held.length > 0 && !record) return undefined;
  const known = requestsFromPacked(p[1] as unknown[], 0);
  if (!known) return undefined;
  const found: Lookup = { record, known };
  if (str(p[3])) found.refused = { timestamp: num(p[2]), node: str(p[3]) };
  return found;
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
  const hintFor = str(p[7]);
  if (hintFor) write.hintFor = hintFor;
  if (p.length > 8) {
    // An accept whose requests cannot be read must not be taken as a plain, unfenced write.
    const requests = requestsFromPacked(p, 8);
    if (!requests || requests.length === 0) return undefined;
    write.requests = requests;
  }
  return write;
}
