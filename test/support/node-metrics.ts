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

/** ringcache_limit_refusals_total{limit} (every limit is exported from 0: a missing one is a misspelt name). */
export async function limitRefusals(http: string, limit: string): Promise<number> {
  const n = await sampleOf(http, 'ringcache_limit_refusals_total{', `limit="${limit}"`);
  if (Number.isNaN(n)) throw new Error(`no ringcache_limit_refusals_total{limit="${limit}"} at ${http}`);
  return n;
}
