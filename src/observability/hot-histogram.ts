import type { Metric } from 'prom-client';

/** One labelled series of a HotHistogram: what its observe() writes, read at scrape time. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative), the last one past the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A sample as prom-client's registry formats it: its own labels (a bucket's `le`), then the series'
 * (`sharedLabels`, one object per series, which the registry formats once and caches).
 */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  metricName: string;
}

/**
 * A Prometheus histogram observed on the hot path (a peer stream's every frame): observe() is a few
 * array writes on a series taken once, where prom-client's Histogram builds, checks and hashes a
 * label object on each (1.5% of a node's CPU at N=3 went there). The registry reads it at scrape
 * time as it reads prom-client's own metrics (`asMetric()`), in the same text format.
 */
export class HotHistogram {
  readonly #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {}

  /** The series of `labels` (every one of labelNames), made on first use: keep it, observe on it. */
  series(labels: Readonly<Record<string, string>>): HistogramSeries {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let s = this.#series.get(key);
    if (!s) {
      s = new HistogramSeries({ ...labels }, this.bounds);
      this.#series.set(key, s);
    }
    return s;
  }

  /** Samples in prom-client's Histogram's order: each series' cumulative buckets, sum and count. */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.#series.values()) {
      // As prom-client shows a series only once observed: a peer's stream that never timed a frame.
      if (s.count === 0) continue;
      const shared = s.labels;
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        out.push({
          value: cumulative,
          labels: { le },
          sharedLabels: shared,
          metricName: `${this.name}_bucket`,
        });
      }
      out.push({ value: s.sum, labels: {}, sharedLabels: shared, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: {}, sharedLabels: shared, metricName: `${this.name}_count` });
    }
    return out;
  }

  /**
   * What a prom-client Registry takes in registerMetric: it asks only getForPromString() or get(),
   * and reset() when reset whole, so this is the one place the two meet.
   */
  asMetric(): Metric {
    const data = (values: unknown[]) => ({
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      values,
    });
    const metric = {
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      /** For the text format. */
      getForPromString: () => Promise.resolve(data(this.samples())),
      /** For JSON: each sample's labels whole. */
      get: () =>
        Promise.resolve(
          data(
            this.samples().map(({ value, labels, sharedLabels, metricName }) => ({
              value,
              metricName,
              labels: { ...labels, ...sharedLabels },
            })),
          ),
        ),
      // Zeroed, not dropped: whoever holds a series goes on observing on it.
      reset: () => {
        for (const series of this.#series.values()) series.reset();
      },
    };
    return metric as unknown as Metric;
  }
}
