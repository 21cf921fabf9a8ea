import { RingCacheError } from '../errors';
import {
  Code,
  SetModeWire,
  ValueFlags,
  type GetResponseMsg,
  type OperationMsg,
  type OperationResultMsg,
  type VersionMsg,
} from '../proto/messages';
import type { Store } from '../store/store';
import type { SetMode, StoreRecord, ValueFlags as StoreValueFlags } from '../store/types';
import type { Version } from '../store/version';

/**
 * Applies one Cache operation to the local store. Writes also return the record they produced, so the
 * coordinator can send exactly that state (same version) to the other replicas.
 */
export interface LocalOutcome {
  result: OperationResultMsg;
  /** Present when the operation changed the store: the key's new state, to replicate. */
  written?: StoreRecord;
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

function setMode(mode: number): SetMode {
  switch (mode) {
    case SetModeWire.ALWAYS:
      return 'always';
    case SetModeWire.IF_ABSENT:
      return 'ifAbsent';
    case SetModeWire.IF_PRESENT:
      return 'ifPresent';
    default:
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `mode ${mode} is unknown; use 0 (ALWAYS), 1 (IF_ABSENT) or 2 (IF_PRESENT)`,
      );
  }
}

/** A record as a GetResponse; `nowMs` turns the absolute expiry back into a remaining TTL. */
export function recordToGetResponse(record: StoreRecord | undefined, nowMs: number): GetResponseMsg {
  if (!record || record.tombstone) return MISSING;
  if (record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs) return MISSING;
  return {
    found: true,
    value: record.value,
    flags: record.flags,
    version: versionMsg(record.version),
    ttlMs: record.expiresAtMs === 0 ? 0 : record.expiresAtMs - nowMs,
  };
}

/** The key an operation addresses, or undefined when the operation names no kind. */
export function keyOf(op: OperationMsg): string | undefined {
  const body = (op as unknown as Record<string, { key?: unknown } | null | undefined>)[op.op];
  return typeof body?.key === 'string' ? body.key : undefined;
}

export function applyLocal(store: Store, op: OperationMsg, nowMs: number): LocalOutcome {
  const id = op.id;
  switch (op.op) {
    case 'get': {
      const value = store.get(op.get.key);
      const get: GetResponseMsg = value
        ? {
            found: true,
            value: value.value,
            flags: value.flags,
            version: versionMsg(value.version),
            ttlMs: value.expiresAtMs === 0 ? 0 : Math.max(1, value.expiresAtMs - nowMs),
          }
        : MISSING;
      return { result: { id, code: Code.OK, message: '', result: 'get', get } };
    }
    case 'set': {
      const req = op.set;
      let value = req.value;
      let flags = req.flags;
      if (value.length === 0 && req.text) {
        value = Buffer.from(req.text, 'utf8');
        flags = ValueFlags.UTF8;
      }
      const out = store.set(req.key, value, flags as StoreValueFlags, {
        ttlMs: req.ttlMs,
        mode: setMode(req.mode),
      });
      return {
        result: {
          id,
          code: Code.OK,
          message: '',
          result: 'set',
          set: { stored: out.stored, version: versionMsg(out.version) },
        },
        written: out.stored ? store.readRecord(req.key) : undefined,
      };
    }
    case 'delete': {
      const out = store.delete(op.delete.key);
      return {
        result: { id, code: Code.OK, message: '', result: 'delete', delete: { deleted: out.deleted } },
        written: store.readRecord(op.delete.key),
      };
    }
    case 'touch': {
      const found = store.touch(op.touch.key, op.touch.ttlMs);
      return {
        result: { id, code: Code.OK, message: '', result: 'touch', touch: { found } },
        written: found ? store.readRecord(op.touch.key) : undefined,
      };
    }
    case 'increment': {
      const req = op.increment;
      const out = store.increment(req.key, req.delta, { initial: req.initial, ttlMs: req.ttlMs });
      return {
        result: {
          id,
          code: Code.OK,
          message: '',
          result: 'increment',
          increment: { value: out.value, version: versionMsg(out.version) },
        },
        written: store.readRecord(req.key),
      };
    }
    case 'compareAndSet': {
      const req = op.compareAndSet;
      if (!req.expected || !req.expected.node) {
        throw new RingCacheError('INVALID_ARGUMENT', 'expected is missing: pass the version returned by Get');
      }
      const version = store.compareAndSet(
        req.key,
        req.expected,
        req.value,
        req.flags as StoreValueFlags,
        req.ttlMs,
      );
      return {
        result: {
          id,
          code: Code.OK,
          message: '',
          result: 'compareAndSet',
          compareAndSet: { version: versionMsg(version) },
        },
        written: store.readRecord(req.key),
      };
    }
    default:
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `operation ${String(id)} names no kind: set one of get, set, delete, touch, increment, compare_and_set`,
      );
  }
}
