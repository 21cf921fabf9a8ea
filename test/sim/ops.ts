import type { Consistency, Operation } from '../../src/cluster/replication/operation';

/** A plain set of `key` to `value` (no TTL, no condition), as the scenarios' clients send it. */
export function setOp(
  value: string,
  consistency: Consistency = 'default',
  key = 'k',
): Operation & { kind: 'set' } {
  return { kind: 'set', key, value: Buffer.from(value), flags: 0, ttlMs: 0, mode: 'always', consistency };
}

/** A delete of `key`. */
export function deleteOp(consistency: Consistency = 'default', key = 'k'): Operation & { kind: 'delete' } {
  return { kind: 'delete', key, consistency };
}
