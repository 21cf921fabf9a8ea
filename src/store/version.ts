/**
 * Versions order writes to one key across the cluster: replicas keep the highest (last writer wins).
 * The timestamp comes from a hybrid logical clock (see hlc.ts); the node id breaks ties between two
 * nodes that wrote in the same HLC tick, so every pair of distinct writes has a winner.
 */
export interface Version {
  readonly timestamp: number;
  readonly node: string;
}

/** -1, 0, 1: by timestamp, then node id (string compare) as tie-break. */
export function compareVersions(a: Version, b: Version): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/** `timestamp@node`, for error messages and logs. */
export function formatVersion(v: Version): string {
  return `${v.timestamp}@${v.node}`;
}
