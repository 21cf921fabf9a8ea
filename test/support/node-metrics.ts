/**
 * A node's Prometheus samples, read from its /metrics page (`http`: its host:port). Imports nothing,
 * so that a child process (`node -e`) can require it alone.
 */

/** The first sample of `name` (a name, or a name and `{`) whose line holds `label`; NaN when none. */
export async function sampleOf(http: string, name: string, label = ''): Promise<number> {
  const text = await fetch(`http://${http}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return Number(line?.split(' ').pop() ?? NaN);
}

/** ringcache_limit_refusals_total{limit}: 0 until the node's first refusal for that limit. */
export async function limitRefusals(http: string, limit: string): Promise<number> {
  const n = await sampleOf(http, 'ringcache_limit_refusals_total{', `limit="${limit}"`);
  return Number.isNaN(n) ? 0 : n;
}
