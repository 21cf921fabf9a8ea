import type { Consistency, Operation, Outcome } from '../cluster/replication/operation';
import { RingCacheError } from '../errors';
import {
  Code,
  ConsistencyWire,
  ValueFlags,
  type GetResponseMsg,
  type OperationMsg,
  type OperationResultMsg,
  type OpKind,
  type VersionMsg,
} from '../proto/messages';
import { errorFromWire, wireCodeOf } from '../proto/status-codes';
import type { SetMode, StoredValue, ValueFlags as StoreValueFlags } from '../store/types';
import { cut } from '../store/validation';
import type { Version } from '../store/version';

/**
 * The one translation between the protobuf Operation messages (Cache unary calls, Pipeline, and the
 * forwards between nodes) and the core's Operation and Outcome. The packed flavour has its own
 * (packed-operations.ts), reading frames straight into the same domain types.
 */

const CONSISTENCY: readonly Consistency[] = ['default', 'one', 'quorum', 'all'];

/** A wire consistency, or undefined when the value is unknown. */
export function knownConsistency(n: unknown): Consistency | undefined {
  return typeof n === 'number' ? CONSISTENCY[n] : undefined;
}

/** A wire consistency; an unknown value is the caller's mistake (INVALID_ARGUMENT, thrown). */
export function consistencyFromWire(n: unknown): Consistency {
  const c = knownConsistency(n);
  if (c) return c;
  throw new RingCacheError(
    'INVALID_ARGUMENT',
    `consistency ${shown(n)} is unknown; use 0 (DEFAULT), 1 (ONE), 2 (QUORUM) or 3 (ALL)`,
  );
}

/** A value from a request, for an error message: cut, so that a huge one cannot flood the reply. */
export function shown(v: unknown, max = 64): string {
  return cut(typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}` : String(v), max);
}

export function consistencyToWire(c: Consistency): number {
  return c === 'one'
    ? ConsistencyWire.ONE
    : c === 'quorum'
      ? ConsistencyWire.QUORUM
      : c === 'all'
        ? ConsistencyWire.ALL
        : ConsistencyWire.DEFAULT;
}

const SET_MODE: readonly SetMode[] = ['always', 'ifAbsent', 'ifPresent'];

export function setModeFromWire(mode: number): SetMode | RingCacheError {
  return (
    SET_MODE[mode] ??
    new RingCacheError(
      'INVALID_ARGUMENT',
      `mode ${mode} is unknown; use 0 (ALWAYS), 1 (IF_ABSENT) or 2 (IF_PRESENT)`,
    )
  );
}

const noKind = (id: number) =>
  new RingCacheError(
    'INVALID_ARGUMENT',
    `operation ${id} names no kind: set one of get, set, delete, touch, increment, compare_and_set`,
  );

const noExpected = () =>
  new RingCacheError('INVALID_ARGUMENT', 'expected is missing: pass the version returned by Get');

/** proto3 sends '' for an absent string: no request id. */
function requestIdOf(id: string | undefined): { requestId?: string } {
  return id ? { requestId: id } : {};
}

/** proto3's false is no keepTtl: the field is left out, as the packed path leaves it. */
function keepTtlOf(keep: boolean | undefined): { keepTtl?: true } {
  return keep === true ? { keepTtl: true } : {};
}

/** A protobuf Operation as the core's; the INVALID_ARGUMENT error when it cannot be one. */
export function operationFromMsg(msg: OperationMsg): Operation | RingCacheError {
  try {
    return translate(msg);
  } catch (err) {
    if (err instanceof RingCacheError) return err;
    throw err;
  }
}

function translate(msg: OperationMsg): Operation | RingCacheError {
  // A oneof naming a kind whose body is missing (a hand-built message) names no operation either.
  if (!(msg as unknown as Record<string, unknown>)[msg.op]) return noKind(msg.id);
  switch (msg.op) {
    case 'get':
      return { kind: 'get', key: msg.get.key, consistency: consistencyFromWire(msg.get.consistency) };
    case 'set': {
      const req = msg.set;
      const mode = setModeFromWire(req.mode);
      if (mode instanceof RingCacheError) return mode;
      // `text` is grpcurl's convenience: a value typed as a string is stored as UTF-8.
      const asText = req.value.length === 0 && !!req.text;
      return {
        kind: 'set',
        key: req.key,
        value: asText ? Buffer.from(req.text ?? '', 'utf8') : req.value,
        flags: (asText ? ValueFlags.UTF8 : req.flags) as StoreValueFlags,
        ttlMs: req.ttlMs,
        mode,
        consistency: consistencyFromWire(req.consistency),
        ...keepTtlOf(req.keepTtl),
        ...requestIdOf(req.requestId),
      };
    }
    case 'delete':
      return {
        kind: 'delete',
        key: msg.delete.key,
        consistency: consistencyFromWire(msg.delete.consistency),
      };
    case 'touch':
      return {
        kind: 'touch',
        key: msg.touch.key,
        ttlMs: msg.touch.ttlMs,
        consistency: consistencyFromWire(msg.touch.consistency),
        ...requestIdOf(msg.touch.requestId),
      };
    case 'increment': {
      const req = msg.increment;
      return {
        kind: 'incr',
        key: req.key,
        delta: req.delta,
        initial: req.initial,
        ttlMs: req.ttlMs,
        consistency: consistencyFromWire(req.consistency),
        ...requestIdOf(req.requestId),
      };
    }
    case 'compareAndSet': {
      const req = msg.compareAndSet;
      if (!req.expected || !req.expected.node) return noExpected();
      return {
        kind: 'cas',
        key: req.key,
        expected: { timestamp: req.expected.timestamp, node: req.expected.node },
        value: req.value,
        flags: req.flags as StoreValueFlags,
        ttlMs: req.ttlMs,
        consistency: consistencyFromWire(req.consistency),
        ...keepTtlOf(req.keepTtl),
        ...requestIdOf(req.requestId),
      };
    }
    default:
      return noKind((msg as { id: number }).id);
  }
}

/** The core's Operation as a protobuf Operation, for a node that forwards it to the key's coordinator. */
export function operationToMsg(op: Operation, id: number): OperationMsg {
  const consistency = consistencyToWire(op.consistency);
  switch (op.kind) {
    case 'get':
      return { id, op: 'get', get: { key: op.key, consistency } };
    case 'set':
      return {
        id,
        op: 'set',
        set: {
          key: op.key,
          value: op.value,
          flags: op.flags,
          ttlMs: op.ttlMs,
          mode: SET_MODE.indexOf(op.mode),
          consistency,
          keepTtl: op.keepTtl === true,
          requestId: op.requestId ?? '',
        },
      };
    case 'delete':
      return { id, op: 'delete', delete: { key: op.key, consistency } };
    case 'touch':
      return {
        id,
        op: 'touch',
        touch: { key: op.key, ttlMs: op.ttlMs, consistency, requestId: op.requestId ?? '' },
      };
    case 'incr':
      return {
        id,
        op: 'increment',
        increment: {
          key: op.key,
          delta: op.delta,
          initial: op.initial,
          ttlMs: op.ttlMs,
          consistency,
          requestId: op.requestId ?? '',
        },
      };
    case 'cas':
      return {
        id,
        op: 'compareAndSet',
        compareAndSet: {
          key: op.key,
          expected: versionMsg(op.expected),
          value: op.value,
          flags: op.flags,
          ttlMs: op.ttlMs,
          consistency,
          keepTtl: op.keepTtl === true,
          requestId: op.requestId ?? '',
        },
      };
  }
}

/** Shared by every miss, so frozen: a caller that wants to change it must copy it. */
const MISSING: GetResponseMsg = Object.freeze({
  found: false,
  value: Buffer.alloc(0),
  flags: 0,
  version: null,
  ttlMs: 0,
});

function versionMsg(v: Version | undefined): VersionMsg | null {
  return v ? { timestamp: v.timestamp, node: v.node } : null;
}

/** The remaining TTL at `nowMs` of a value expiring at `expiresAtMs` (0 = never; at least 1 while live). */
export function remainingTtlMs(expiresAtMs: number, nowMs: number): number {
  return expiresAtMs === 0 ? 0 : Math.max(1, expiresAtMs - nowMs);
}

export function getResponseOf(entry: StoredValue | undefined, nowMs: number): GetResponseMsg {
  if (!entry) return MISSING;
  return {
    found: true,
    value: entry.value,
    flags: entry.flags,
    version: versionMsg(entry.version),
    ttlMs: remainingTtlMs(entry.expiresAtMs, nowMs),
  };
}

/** An outcome as an OperationResult: a gRPC code, our error name, or the result of its kind. */
export function outcomeToMsg(outcome: Outcome, id: number, nowMs: number): OperationResultMsg {
  if (outcome instanceof RingCacheError) {
    return { id, code: wireCodeOf[outcome.code], message: outcome.message, error: outcome.code };
  }
  const ok = { id, code: Code.OK, message: '' };
  switch (outcome.kind) {
    case 'get':
      return { ...ok, result: 'get', get: getResponseOf(outcome.entry, nowMs) };
    case 'set':
      return { ...ok, result: 'set', set: { stored: outcome.stored, version: versionMsg(outcome.version) } };
    case 'delete':
      return {
        ...ok,
        result: 'delete',
        delete: { deleted: outcome.deleted, version: versionMsg(outcome.version) },
      };
    case 'touch':
      return { ...ok, result: 'touch', touch: { found: outcome.found } };
    case 'incr':
      return {
        ...ok,
        result: 'increment',
        increment: { value: outcome.value, version: versionMsg(outcome.version) },
      };
    case 'cas':
      return { ...ok, result: 'compareAndSet', compareAndSet: { version: versionMsg(outcome.version) } };
  }
}

const version = (v: VersionMsg | null | undefined): Version | undefined =>
  v && v.node ? { timestamp: v.timestamp, node: v.node } : undefined;

/** A forwarded operation's OperationResult back as an outcome (`nowMs`: when it arrived, for TTLs). */
export function outcomeFromMsg(r: OperationResultMsg, nowMs: number): Outcome {
  if (r.code !== Code.OK) return errorFromWire(r.code, r.message, r.error);
  const kind: OpKind | undefined = r.result;
  const missing = () =>
    new RingCacheError('INTERNAL', `a node answered ${kind ?? 'a result with no kind'} without its fields`);
  switch (kind) {
    case 'get': {
      const g = r.get;
      if (!g) return missing();
      if (!g.found) return { kind: 'get', entry: undefined };
      const v = version(g.version);
      if (!v) return missing();
      const expiresAtMs = g.ttlMs > 0 ? nowMs + g.ttlMs : 0;
      return {
        kind: 'get',
        entry: { value: g.value, flags: g.flags as StoreValueFlags, version: v, expiresAtMs },
      };
    }
    case 'set':
      return r.set ? { kind: 'set', stored: r.set.stored, version: version(r.set.version) } : missing();
    case 'delete':
      return r.delete
        ? { kind: 'delete', deleted: r.delete.deleted, version: version(r.delete.version) }
        : missing();
    case 'touch':
      return r.touch ? { kind: 'touch', found: r.touch.found } : missing();
    case 'increment': {
      const v = version(r.increment?.version);
      return r.increment && v ? { kind: 'incr', value: r.increment.value, version: v } : missing();
    }
    case 'compareAndSet': {
      const v = version(r.compareAndSet?.version);
      return v ? { kind: 'cas', version: v } : missing();
    }
    default:
      return missing();
  }
}
