import type { CompareReport } from './report';

/**
 * compare.svg: throughput bars and latency percentiles, from a vega-lite spec compiled to vega and
 * rendered headless to SVG (no canvas, no browser). vega 6 and vega-lite 6 are ESM-only; tsc with
 * module node16 keeps `import()` as a real dynamic import in our CommonJS output, so they load here.
 */
export async function renderChart(report: CompareReport): Promise<string> {
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const spec = vegaLite.compile(chartSpec(report) as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The vega-lite spec: one bar chart of ops/s, then latency percentiles per concurrency (log scale). */
export function chartSpec(report: CompareReport): object {
  const throughput = report.rows.map((r) => ({
    system: r.label,
    concurrency: `${r.concurrency} in flight`,
    opsPerSec: Math.round(r.opsPerSec),
  }));
  const latency = report.rows.flatMap((r) =>
    (
      [
        ['p50', r.p50Ms],
        ['p99', r.p99Ms],
        ['p99.9', r.p999Ms],
      ] as const
    ).map(([percentile, ms]) => ({
      system: r.label,
      concurrency: `${r.concurrency} in flight`,
      percentile,
      ms: Math.max(ms, 0.01),
    })),
  );
  const systems = [...new Set(report.rows.map((r) => r.label))];
  const percentiles = ['p50', 'p99', 'p99.9'];
  // Numeric order: as text, "256 in flight" would sort before "64 in flight".
  const concurrencies = [...new Set(report.rows.map((r) => r.concurrency))]
    .sort((a, b) => a - b)
    .map((c) => `${c} in flight`);
  const systemAxis = {
    field: 'system',
    type: 'nominal',
    sort: systems,
    axis: { labelAngle: -30, labelLimit: 240, title: null },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `bench:compare (${report.machine.cores} cores, ${report.machine.cpuModel}, Node ${report.machine.node})`,
    config: { font: 'sans-serif' },
    vconcat: [
      {
        title: 'Throughput (ops/s, higher is better)',
        width: 520,
        height: 220,
        data: { values: throughput },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: systemAxis,
          xOffset: { field: 'concurrency', type: 'nominal', sort: concurrencies },
          y: { field: 'opsPerSec', type: 'quantitative', title: 'ops/s' },
          color: { field: 'concurrency', type: 'nominal', sort: concurrencies, title: 'concurrency' },
        },
      },
      {
        title: 'Latency percentiles (ms, log scale, lower is better)',
        data: { values: latency },
        facet: { column: { field: 'concurrency', type: 'nominal', sort: concurrencies, title: null } },
        spec: {
          width: 260,
          height: 220,
          mark: { type: 'bar', tooltip: true },
          encoding: {
            x: systemAxis,
            xOffset: { field: 'percentile', type: 'nominal', sort: percentiles },
            // Bars on a log scale need a baseline above 0: they start at 10 µs.
            y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms' },
            y2: { datum: 0.01 },
            color: { field: 'percentile', type: 'nominal', sort: percentiles },
          },
        },
        resolve: { scale: { y: 'shared', xOffset: 'independent' } },
      },
    ],
    // The two charts offset their bars by different fields (concurrency, percentile).
    resolve: { scale: { color: 'independent', x: 'independent', xOffset: 'independent' } },
  };
}
