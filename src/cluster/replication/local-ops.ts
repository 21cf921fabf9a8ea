import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import type { Version } from '../../store/version';
import type { Operation, OperationResult } from './operation';

/**
 * Applies one operation to the local store. Writes also return the record they produced, so the
 * coordinator can send exactly that state (same version) to the other replicas. Store errors (a key
 * too large, a version conflict) are thrown as RingCacheErrors; the coordinator turns them into outcomes.
 */
export interface LocalOutcome {
  result: OperationResult;
  /** Present when the operation changed the store: the key's new state, to replicate. */
  written?: StoreRecord;
}

/** A delete's record where the store kept none: the receiver gives it its own tombstone grace. */
function tombstoneOf(version: Version): StoreRecord {
  return { value: NO_VALUE, flags: 0, version, expiresAtMs: 0, tombstone: true };
}

const NO_VALUE = Buffer.alloc(0);

/** A record as a get result: absent, deleted and expired records all read as no entry. */
export function recordToGetResult(record: StoreRecord | undefined, nowMs: number): OperationResult {
  if (!record || record.tombstone || (record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs)) {
    return { kind: 'get', entry: undefined };
  }
  return { kind: 'get', entry: record };
}

/**
 * The record a set just stored, to replicate: with its value itself where that is most of the
 * message it came in (a large Set's, which a copy read back from the arena would copy once more for
 * nothing), else with a copy: a view of a frame's small value would keep the whole frame alive,
 * uncounted, until the slowest replica answers.
 */
function setRecord(store: Store, key: string, value: Buffer): StoreRecord | undefined {
  return value.length >= OWN_VALUE_BYTES && value.length * 2 >= value.buffer.byteLength
    ? store.recordSetFrom(key, value)
    : store.readRecord(key);
}

/** Values this large are replicated from the request's own bytes (setRecord). */
const OWN_VALUE_BYTES = 64 * 1024;

/** `version`, when given, is the version a write takes (a read-modify-write's ballot); else a new tick. */
export function applyLocal(store: Store, op: Operation, version?: Version): LocalOutcome {
  switch (op.kind) {
    case 'get':
      return { result: { kind: 'get', entry: store.get(op.key) } };
    case 'set': {
      const out = store.set(op.key, op.value, op.flags, {
        ttlMs: op.ttlMs,
        mode: op.mode,
        keepTtl: op.keepTtl,
        version,
      });
      return {
        result: { kind: 'set', stored: out.stored, version: out.version },
        written: out.stored ? setRecord(store, op.key, op.value) : undefined,
      };
    }
    case 'delete': {
      const out = store.delete(op.key);
      return {
        result: { kind: 'delete', deleted: out.deleted, version: out.version },
        // A store full of live values keeps no tombstone for a key it does not hold (its memory is
        // not taken from live data for one). The delete still goes to the other replicas, which may
        // hold the value: sent nowhere, it would be acknowledged and undone by the first read there.
        written: store.readRecord(op.key) ?? tombstoneOf(out.version),
      };
    }
    case 'touch': {
      const found = store.touch(op.key, op.ttlMs, version);
      return {
        result: { kind: 'touch', found },
        written: found ? store.readRecord(op.key) : undefined,
      };
    }
    case 'incr': {
      const out = store.increment(op.key, op.delta, { initial: op.initial, ttlMs: op.ttlMs, version });
      return {
        result: { kind: 'incr', value: out.value, version: out.version },
        written: store.readRecord(op.key),
      };
    }
    case 'cas': {
      const written = store.compareAndSet(
        op.key,
        op.expected,
        op.value,
        op.flags,
        op.ttlMs,
        version,
        op.keepTtl,
      );
      return { result: { kind: 'cas', version: written }, written: store.readRecord(op.key) };
    }
  }
}
