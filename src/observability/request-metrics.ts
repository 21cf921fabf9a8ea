import type { Registry } from 'prom-client';

/** The operations of the Cache service, as the metrics name them (`method` label). */
export const OPERATIONS = [
  'get',
  'set',
  'delete',
  'touch',
  'increment',
  'compare_and_set',
  'get_many',
  'set_many',
] as const;
export type OperationName = (typeof OPERATIONS)[number];

/** gRPC status names by code, for the `code` label. */
const CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** Upper bounds in seconds, from 100 µs (an answer from memory) to 5 s (the default deadline). */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The histogram's bucket bounds, in seconds. */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = BUCKETS;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * `ringcache_requests_total{method,code}` and `ringcache_request_duration_seconds{method}` of the
 * Cache service: one per operation, whether it came alone or in a Pipeline frame (a frame's
 * operations are answered together, so each takes the frame's time). The hot path only bumps
 * numbers in typed arrays (no label lookups, no allocation); prom-client reads them at scrape time.
 */
export class RequestMetrics {
  readonly #counts = new Float64Array(OPERATIONS.length * CODES.length);
  /** Per operation, observations per bucket (not cumulative), the last slot past the last bound. */
  readonly #buckets = new Float64Array(OPERATIONS.length * (BUCKETS.length + 1));
  readonly #sums = new Float64Array(OPERATIONS.length);

  /** One operation: its OPERATIONS index, its gRPC code, and how long it took. */
  record(operation: number, code: number, seconds: number): void {
    if (operation < 0 || operation >= OPERATIONS.length) return;
    this.#counts[operation * CODES.length + (code >= 0 && code < CODES.length ? code : 2)]!++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    this.#buckets[operation * (BUCKETS.length + 1) + b]!++;
    this.#sums[operation]! += seconds;
  }

  /**
   * Every operation so far, whatever its method and code: the count and the latency histogram
   * (per bucket of LATENCY_BOUNDS_SECONDS, not cumulative, the last one past the last bound), for
   * views that take differences between two readings (the dashboard's ops/s and percentiles).
   */
  totals(): { count: number; buckets: number[] } {
    const buckets = new Array<number>(BUCKETS.length + 1).fill(0);
    let count = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      buckets[i % (BUCKETS.length + 1)]! += this.#buckets[i]!;
      count += this.#buckets[i]!;
    }
    return { count, buckets };
  }

  /** Exposes both metrics in `registry`, read from the arrays at each scrape. */
  register(registry: Registry): void {
    const counts = this.#counts;
    const buckets = this.#buckets;
    const sums = this.#sums;
    const requests = {
      name: 'ringcache_requests_total',
      help: 'Cache service operations answered, by operation and gRPC status code',
      type: 'counter',
      aggregator: 'sum',
      get: () => {
        const values: Sample[] = [];
        OPERATIONS.forEach((method, o) =>
          CODES.forEach((code, c) => {
            const n = counts[o * CODES.length + c]!;
            if (n > 0) values.push({ labels: { method, code }, value: n });
          }),
        );
        return { name: requests.name, help: requests.help, type: 'counter', aggregator: 'sum', values };
      },
    };
    const duration = {
      name: 'ringcache_request_duration_seconds',
      help: 'Time from a Cache service operation reaching the node to its answer',
      type: 'histogram',
      aggregator: 'sum',
      get: () => {
        const values: Sample[] = [];
        OPERATIONS.forEach((method, o) => {
          const base = o * (BUCKETS.length + 1);
          let total = 0;
          for (let b = 0; b <= BUCKETS.length; b++) total += buckets[base + b]!;
          if (total === 0) return;
          let cumulative = 0;
          BUCKETS.forEach((le, b) => {
            cumulative += buckets[base + b]!;
            values.push({ labels: { method, le }, value: cumulative, metricName: `${duration.name}_bucket` });
          });
          values.push({
            labels: { method, le: '+Inf' },
            value: total,
            metricName: `${duration.name}_bucket`,
          });
          values.push({ labels: { method }, value: sums[o]!, metricName: `${duration.name}_sum` });
          values.push({ labels: { method }, value: total, metricName: `${duration.name}_count` });
        });
        return { name: duration.name, help: duration.help, type: 'histogram', aggregator: 'sum', values };
      },
    };
    // prom-client takes any object with get(): what its own metric classes return.
    registry.registerMetric(requests as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric(duration as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}
