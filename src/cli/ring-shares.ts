import type { ClusterConfig } from '../config/types';
import { Ring } from '../ring/ring';

/** Each node's share of the ring as a percentage string, for the `ring` and `up` tables. */
export function ringSharePercents(config: ClusterConfig, digits: number): Map<string, string> {
  const shares = new Ring(
    config.nodes.map((n) => n.id),
    { vnodes: config.vnodes },
  ).shares();
  return new Map(config.nodes.map((n) => [n.id, `${((shares.get(n.id) ?? 0) * 100).toFixed(digits)}%`]));
}
