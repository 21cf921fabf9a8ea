import type { Consistency } from './operation';

export interface ReplicationSettings {
  /** N: nodes holding each key. */
  factor: number;
  /** W: acknowledgements a write waits for, the coordinator's own included. */
  writeQuorum: number;
  /** R: replicas a read consults, the coordinator's own copy included. */
  readQuorum: number;
  /**
   * Sloppy quorums: a hint held by a stand-in for a dead replica counts toward W. Off by default
   * (strict): only the key's own replicas count, so W + R > N makes every read see the write.
   */
  sloppy?: boolean;
}

/** Majority of N (of a key's replicas, or of a ring's members when a ring change is ordered). */
export function majority(factor: number): number {
  return Math.floor(factor / 2) + 1;
}

/** Whether `count` of a set of `total` members are more than half of it (a majority of those judged). */
export function overHalf(count: number, total: number): boolean {
  return count * 2 > total;
}

/** Whether `count` of a set of `total` members are at least half of it (no majority against them). */
export function atLeastHalf(count: number, total: number): boolean {
  return count * 2 >= total;
}

/**
 * W of a read-modify-write round that batches calls of the given consistencies: the configured W,
 * raised by a call's own consistency, never lowered (the round's prepare quorum relies on it).
 */
export function roundWriteQuorum(consistencies: readonly Consistency[], rep: ReplicationSettings): number {
  let w = requiredReplicas('default', 'write', rep);
  for (const c of consistencies) w = Math.max(w, requiredReplicas(c, 'write', rep));
  return w;
}

/**
 * How many of a key's replicas a read-modify-write's prepare reads (the coordinator included), given
 * the W its accept will wait for: N - W + 1, so that every set of W replicas that acknowledged an
 * earlier round shares one with it, and the prepare sees that round's record and requests.
 */
export function prepareQuorum(writeQuorum: number, rep: ReplicationSettings): number {
  return Math.max(1, rep.factor - writeQuorum + 1);
}

/**
 * How many replicas must answer a call with the given consistency ('default' uses the configured W
 * or R). Never more than N, never less than 1.
 */
export function requiredReplicas(
  consistency: Consistency,
  kind: 'read' | 'write',
  rep: ReplicationSettings,
): number {
  let n: number;
  switch (consistency) {
    case 'one':
      n = 1;
      break;
    case 'quorum':
      n = majority(rep.factor);
      break;
    case 'all':
      n = rep.factor;
      break;
    default:
      n = kind === 'read' ? rep.readQuorum : rep.writeQuorum;
  }
  return Math.max(1, Math.min(n, rep.factor));
}
