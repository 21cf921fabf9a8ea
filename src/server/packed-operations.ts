import type { Operation, Outcome } from '../cluster/replication/operation';
import type { ReplicaWrite } from '../cluster/peer-transport';
import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import type { PackedRecord, PackedResult } from '../proto/packed';
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
      };
    }
    case 2:
      return { kind: 'delete', key, consistency: consistencyFromWire(num(p[2])) };
    case 3:
      return { kind: 'touch', key, ttlMs: num(p[2]), consistency: consistencyFromWire(num(p[3])) };
    case 4:
      return {
        kind: 'incr',
        key,
        delta: num(p[2]),
        initial: num(p[3]),
        ttlMs: num(p[4]),
        consistency: consistencyFromWire(num(p[5])),
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
  return [
    w.key,
    r.value,
    r.flags,
    r.version.timestamp,
    r.version.node,
    r.expiresAtMs,
    r.tombstone,
    w.hintFor ?? '',
  ];
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
  const hintFor = str(p[7]);
  return hintFor ? { key: str(p[0]), record, hintFor } : { key: str(p[0]), record };
}
