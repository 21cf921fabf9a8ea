import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';

/** A number read at scrape time: the hot path only bumps plain counters, never prom-client objects. */
export interface ScrapedMetric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  read(): number;
}

/**
 * The node's Prometheus registry: process metrics plus our own, each read from its source at scrape
 * time (store stats, hint counts, forwarded operations), so serving requests costs nothing extra.
 */
export function createRegistry(nodeId: string, metrics: ScrapedMetric[]): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'ringcache_process_' });
  for (const m of metrics) {
    // Counters read from a monotonic source are exposed as gauges with a _total name: prom-client's
    // Counter cannot be set, and the value is still monotonic for rate().
    new Gauge({
      name: m.name,
      help: m.help,
      registers: [registry],
      collect() {
        this.set(m.read());
      },
    });
  }
  return registry;
}
