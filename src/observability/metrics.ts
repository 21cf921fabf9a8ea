import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** A number read at scrape time: the hot path only bumps plain counters, never prom-client objects. */
export interface ScrapedMetric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  read(): number;
}

/**
 * How often the event loop's delay is sampled (nodejs_eventloop_lag_*). prom-client's default, 10 ms,
 * wakes an idle node 100 times a second: half of all its wakeups, for a histogram read at each
 * scrape. A stall that holds up a sample is measured whole (the sample comes late by as much); stalls
 * shorter than the interval that fall between two samples are not seen, which a 10 ms sample would.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The node's Prometheus registry: process metrics plus our own, each read from its source at scrape
 * time (store stats, hint counts, forwarded operations), so serving requests costs nothing extra.
 */
export function createRegistry(nodeId: string, metrics: ScrapedMetric[]): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  // prom-client's standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...),
  // unprefixed, so that stock Node.js dashboards and alerts work on them as they are.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  for (const m of metrics) {
    if (m.type === 'counter') {
      // prom-client's Counter cannot be set: at each scrape it is reset to zero and raised to the
      // source's (monotonic) value, so it is exposed with TYPE counter, as rate() and linters expect.
      new Counter({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(m.read());
        },
      });
    } else {
      new Gauge({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect() {
          this.set(m.read());
        },
      });
    }
  }
  return registry;
}
