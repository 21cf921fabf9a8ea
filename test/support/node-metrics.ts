/**
 * A node's Prometheus samples, read from its /metrics page (`http`: its host:port). Imports nothing,
 * so that a child process (`node -e`) can require it alone.
 */

/** A node's /metrics page, as text. */
export async function metricsText(http: string): Promise<string> {
  return fetch(`http://${http}/metrics`).then((r) => r.text());
}

/**
 * In a /metrics text, the value of the first sample of `name` (a metric name, with or without a
 * trailing `{`) whose line holds `label`; NaN when there is none. A name matches whole: `x_total`
 * is not a sample of `x`.
 */
export function sampleIn(text: string, name: string, label = ''): number {
  const bare = name.endsWith('{') ? name.slice(0, -1) : name;
  for (const line of text.split('\n')) {
    if (!line.startsWith(bare) || !line.includes(label)) continue;
    const next = line[bare.length];
    if (next === '{' || next === ' ') return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return NaN;
}

/** The first sample of `name` whose line holds `label`, read from the node's /metrics; NaN when none. */
export async function sampleOf(http: string, name: string, label = ''): Promise<number> {
  return sampleIn(await metricsText(http), name, label);
}

/** ringcache_limit_refusals_total{limit} (every limit is exported from 0: a missing one is a misspelt name). */
export async function limitRefusals(http: string, limit: string): Promise<number> {
  const n = await sampleOf(http, 'ringcache_limit_refusals_total{', `limit="${limit}"`);
  if (Number.isNaN(n)) throw new Error(`no ringcache_limit_refusals_total{limit="${limit}"} at ${http}`);
  return n;
}
