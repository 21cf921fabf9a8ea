import type { MemorySample } from './memory-phase';
import type { SystemId } from './options';
import type { PointSample } from './throughput-phase';

/** The figures of one (system, concurrency) row: each the median over repeats. */
export interface Figures {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number;
}

export interface Row extends Figures {
  system: SystemId;
  label: string;
  concurrency: number;
  repeats: number;
  failed: number;
  misses: number;
  firstError?: string;
  /** This row's figure over Redis Cluster's at the same concurrency (absent for redis itself). */
  ratioToRedis?: Figures;
}

export interface MemoryRow extends MemorySample {
  label: string;
  /** RSS bytes per entry over Redis Cluster's. */
  ratioToRedis?: number;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function figuresOf(samples: PointSample[]): Figures {
  const m = (f: (s: PointSample) => number) => median(samples.map(f));
  return {
    opsPerSec: m((s) => s.ops / s.elapsedS),
    p50Ms: m((s) => s.p50Us / 1000),
    p99Ms: m((s) => s.p99Us / 1000),
    p999Ms: m((s) => s.p999Us / 1000),
    clientCpuUsPerOp: m((s) => (s.clientCpuS * 1e6) / s.ops),
    serverCpuUsPerOp: m((s) => (s.serverCpuS * 1e6) / s.ops),
  };
}

const FIGURES: (keyof Figures)[] = [
  'opsPerSec',
  'p50Ms',
  'p99Ms',
  'p999Ms',
  'clientCpuUsPerOp',
  'serverCpuUsPerOp',
];

function ratio(a: Figures, b: Figures): Figures {
  const r = {} as Figures;
  for (const k of FIGURES) r[k] = a[k] / b[k];
  return r;
}

/** Rows in `order` (systems) by concurrency, each with its ratio to Redis Cluster where redis ran. */
export function summarize(
  samples: PointSample[],
  order: SystemId[],
  labels: Record<SystemId, string>,
): Row[] {
  const rows: Row[] = [];
  const concurrencies = [...new Set(samples.map((s) => s.concurrency))].sort((a, b) => a - b);
  for (const system of order) {
    for (const concurrency of concurrencies) {
      const mine = samples.filter((s) => s.system === system && s.concurrency === concurrency);
      if (mine.length === 0) continue;
      const row: Row = {
        system,
        label: labels[system],
        concurrency,
        repeats: mine.length,
        failed: mine.reduce((a, s) => a + s.failed, 0),
        misses: mine.reduce((a, s) => a + s.misses, 0),
        ...figuresOf(mine),
      };
      const firstError = mine.find((s) => s.firstError)?.firstError;
      if (firstError) row.firstError = firstError;
      rows.push(row);
    }
  }
  for (const row of rows) {
    const redis = rows.find((r) => r.system === 'redis' && r.concurrency === row.concurrency);
    if (redis && row.system !== 'redis') row.ratioToRedis = ratio(row, redis);
  }
  return rows;
}

/** Memory rows in `order` (systems), each with its ratio to Redis Cluster where redis ran. */
export function summarizeMemory(
  samples: MemorySample[],
  order: SystemId[],
  labels: Record<SystemId, string>,
): MemoryRow[] {
  const redis = samples.find((s) => s.system === 'redis');
  const sorted = [...samples].sort((a, b) => order.indexOf(a.system) - order.indexOf(b.system));
  return sorted.map((s) => ({
    ...s,
    label: labels[s.system],
    ...(redis && s.system !== 'redis' ? { ratioToRedis: s.rssBytesPerEntry / redis.rssBytesPerEntry } : {}),
  }));
}
