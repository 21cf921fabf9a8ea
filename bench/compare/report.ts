import { profileIntro, selfTimeMarkdown, type ProfileSummary } from '../cpu-profile';
import type { MachineInfo } from './machine';
import type { CompareOptions, SystemId } from './options';
import type { Figures, MemoryRow, Row } from './summary';

export interface Skipped {
  system: SystemId;
  label: string;
  reason: string;
}

/** Everything compare.json holds; compare.md and compare.svg are views of it. */
export interface CompareReport {
  date: string;
  /** The commit measured (sourceCommit): a figure without it cannot be told from the next one. */
  commit: string;
  command: string;
  machine: MachineInfo;
  options: Omit<CompareOptions, 'outDir'>;
  skipped: Skipped[];
  rows: Row[];
  memory: MemoryRow[];
  /** Where ringcache's CPU goes (N=1, first concurrency), when profiled. */
  profile?: ProfileSummary;
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const n2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const n1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const times = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');

function table(header: string[], lines: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ].join('\n');
}

function throughputTable(rows: Row[]): string {
  return table(
    [
      'system',
      'in flight',
      'ops/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'client CPU µs/op',
      'servers CPU µs/op',
      'failed',
      'misses',
    ],
    rows.map((r) => [
      r.label,
      String(r.concurrency),
      n0(r.opsPerSec),
      n2(r.p50Ms),
      n2(r.p99Ms),
      n2(r.p999Ms),
      n1(r.clientCpuUsPerOp),
      n1(r.serverCpuUsPerOp),
      String(r.failed),
      String(r.misses),
    ]),
  );
}

/** ringcache rows (and raw) with their ratio to Redis Cluster; memcached's ratio stays in the JSON. */
function ratioRows(rows: Row[]): (Row & { ratioToRedis: Figures })[] {
  return rows.filter(
    (r): r is Row & { ratioToRedis: Figures } => r.ratioToRedis !== undefined && r.system !== 'memcached',
  );
}

function ratioTable(ratios: (Row & { ratioToRedis: Figures })[]): string {
  return table(
    [
      'system / Redis Cluster',
      'in flight',
      'ops/s',
      'p50',
      'p99',
      'p99.9',
      'client CPU/op',
      'servers CPU/op',
    ],
    ratios.map((r) => [
      r.label,
      String(r.concurrency),
      times(r.ratioToRedis.opsPerSec),
      times(r.ratioToRedis.p50Ms),
      times(r.ratioToRedis.p99Ms),
      times(r.ratioToRedis.p999Ms),
      times(r.ratioToRedis.clientCpuUsPerOp),
      times(r.ratioToRedis.serverCpuUsPerOp),
    ]),
  );
}

function memoryTable(memory: MemoryRow[]): string {
  return table(
    [
      'system',
      'keys loaded',
      'RSS delta B/entry',
      '/ Redis Cluster',
      "server's own count B/entry",
      'own count source',
    ],
    memory.map((m) => [
      m.label,
      n0(m.keys),
      n0(m.rssBytesPerEntry),
      times(m.ratioToRedis),
      m.ownBytesPerEntry !== undefined ? n0(m.ownBytesPerEntry) : '—',
      m.ownSource ?? '—',
    ]),
  );
}

export function markdown(r: CompareReport): string {
  const o = r.options;
  const m = r.machine;
  const out = [
    '# bench:compare: ringcache, Redis Cluster, memcached',
    '',
    `${r.date}, commit ${r.commit}, \`${r.command}\``,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}` +
      `${m.redis ? `, ${m.redis}` : ''}${m.memcached ? `, ${m.memcached}` : ''}. ` +
      'Clients and servers share these cores.',
    '',
    `Workload: closed loop from one client process per system, ${n0(o.keys)} keys preloaded, ` +
      `100-byte values, 90% get / 10% set, ${o.seconds} s measured after ${o.warmupSeconds} s warm-up; ` +
      `each figure is the median of ${o.repeats} repeat(s), systems alternating, fresh servers per repeat.`,
    '',
    '## Throughput, latency, CPU',
    '',
    throughputTable(r.rows),
    '',
  ];
  const ratios = ratioRows(r.rows);
  if (ratios.length) out.push('## Ratios to Redis Cluster', '', ratioTable(ratios), '');
  if (r.memory.length) {
    out.push(
      '## Memory per entry',
      '',
      'Keys of 11 bytes with 100-byte values, loaded into the servers of the last repeat after its ' +
        'points (on top of the preloaded keys), so each figure is the marginal cost of an entry. ' +
        '"RSS delta" (the figure compared) is the growth of VmRSS (/proc/<pid>/status) summed over the ' +
        "server processes, allocator and GC slack included; the own count is the growth of each server's " +
        'reported stored bytes. ringcache N=3 stores every entry on 3 nodes.',
      '',
      memoryTable(r.memory),
      '',
    );
  }
  if (r.profile) {
    out.push(
      '## Where the CPU goes (ringcache N=1)',
      '',
      `A separate pass after the measured points, not part of the figures above. ${profileIntro(r.profile)}`,
      '',
      selfTimeMarkdown(r.profile.client, '###'),
      selfTimeMarkdown(r.profile.nodesSummed, '###'),
    );
  }
  if (r.skipped.length) out.push('## Skipped', '', ...r.skipped.map((s) => `- ${s.label}: ${s.reason}`), '');
  const errors = r.rows.filter((x) => x.firstError);
  if (errors.length)
    out.push(
      '## Errors seen',
      '',
      ...errors.map((x) => `- ${x.label} @${x.concurrency}: ${x.firstError}`),
      '',
    );
  out.push(
    '## How it is measured',
    '',
    '- Latency: hdr-histogram-js in the client process, per operation, measured window only.',
    '- CPU µs/op: utime+stime from /proc/<pid>/stat over the measured window, divided by operations.',
    "- raw: the SDK's frames (Cache.PipelinePacked) sent with a bare PackedConnection to a 1-node " +
      'ringcache (N=1), with no SDK routing or value codec: the transport ceiling.',
    '',
  );
  return out.join('\n');
}
