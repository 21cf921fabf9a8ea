import { formatTable, printableKey } from './table';
import type { ClusterStatus, MemberStatus } from './status';

/** How `ringcache status` prints what StatusCollector gathered: the members' table and the hot keys. */

function catchUpText(c: { records: number; bytes: number }): string {
  return `${c.records} records (${humanBytes(c.bytes)}) received`;
}

export function rebalanceText(r: { scanned: number; sent: number }): string {
  return `${r.scanned} records looked at, ${r.sent} sent`;
}

/** The table's last column: what the member is busy with, or why it did not answer. */
function noteOf(m: MemberStatus): string {
  if (m.catchingUp) return `catching up${m.catchUp ? `: ${catchUpText(m.catchUp)}` : ''}`;
  if (m.owedPeers) return `to pull from ${m.owedPeers} peer(s)`;
  if (m.rebalance?.running) return `rebalancing to epoch ${m.rebalance.epoch}: ${rebalanceText(m.rebalance)}`;
  if (m.state === 'left') return 'stopped';
  if (!m.reachable) return 'no answer';
  return '';
}

export function percent(ratio: number, digits = 0): string {
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** 1536 -> "1.5 KiB": binary units, as cluster.yml's sizes. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function rate(perSecond: number | null | undefined): string {
  if (perSecond === undefined || perSecond === null) return '-';
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** "<= 2.5 ms": the bound of the bucket the 99th percentile falls in; "> 5000 ms" past the last one. */
function p99Text(ms: number | null | undefined, beyond: boolean | undefined): string {
  if (ms === undefined || ms === null) return '-';
  return `${beyond ? '>' : '<='} ${ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** A clock offset as a person reads it: "+2.1 s", "-40 ms", "0 ms". */
export function clockText(ms: number): string {
  const abs = Math.abs(ms);
  const text = abs >= 1000 ? `${(abs / 1000).toFixed(1)} s` : `${Math.round(abs)} ms`;
  return text === '0 ms' ? text : `${ms > 0 ? '+' : '-'}${text}`;
}

/** The status as a person reads it: a header, one row per member, the totals, the warnings. */
export function renderStatus(s: ClusterStatus): string {
  const rows = s.members.map((m) => [
    m.id,
    m.state,
    m.address,
    percent(m.ringShare, 1),
    m.keys === undefined ? '-' : String(m.keys),
    m.bytes === undefined
      ? '-'
      : `${humanBytes(m.bytes)} / ${humanBytes(m.maxBytes!)} (${percent(m.memoryUsed!)})`,
    m.reachable ? rate(m.opsPerSecond) : '-',
    p99Text(m.p99Ms, m.p99Beyond),
    m.reachable ? rate(m.readsPerSecond) : '-',
    m.hitRatio === undefined ? '-' : percent(m.hitRatio, 1),
    m.hintsPending === undefined ? '-' : String(m.hintsPending),
    m.clockOffsetMs === undefined ? '-' : clockText(m.clockOffsetMs),
    noteOf(m),
  ]);
  const t = s.totals;
  rows.push([
    'total',
    `${t.alive}/${t.members} alive`,
    '',
    '',
    String(t.keys),
    t.maxBytes > 0
      ? `${humanBytes(t.bytes)} / ${humanBytes(t.maxBytes)} (${percent(t.bytes / t.maxBytes)})`
      : '-',
    rate(t.opsPerSecond),
    p99Text(t.p99Ms, t.p99Beyond),
    rate(t.readsPerSecond),
    t.hitRatio === null ? '-' : percent(t.hitRatio, 1),
    String(t.hintsPending),
    '',
    '',
  ]);
  const { factor, writeQuorum, readQuorum } = s.replication;
  return (
    `cluster '${s.cluster}': ring epoch ${s.epoch}, N=${factor} W=${writeQuorum} R=${readQuorum} (members as ${s.answeredBy} sees them, ${s.at})\n` +
    formatTable(
      [
        'node',
        'state',
        'address',
        'ring',
        'keys',
        'memory (of max_memory)',
        'ops/s',
        'p99',
        'reads/s',
        'hit ratio',
        'hints',
        'clock',
        'note',
      ],
      rows,
    ) +
    (s.warnings.length === 0 ? 'no warnings\n' : s.warnings.map((w) => `warning: ${w}\n`).join(''))
  );
}

/** Hot keys shown per member and kind in the table. */
const HOT_KEYS_SHOWN = 5;

/** `status --hot`: each member's hottest keys, reads then writes, as a second table. */
export function renderHotKeys(s: ClusterStatus): string {
  const rows: string[][] = [];
  for (const m of s.members) {
    for (const [kind, keys] of [
      ['read', m.hotReads],
      ['write', m.hotWrites],
    ] as const) {
      for (const k of (keys ?? []).slice(0, HOT_KEYS_SHOWN)) {
        rows.push([m.id, kind, printableKey(k.key), `~${k.count}`, k.error > 0 ? `<= ${k.error} over` : '']);
      }
    }
  }
  if (rows.length === 0) return 'hot keys: none sampled yet\n';
  return `hot keys (sampled estimates)\n${formatTable(['node', 'kind', 'key', 'calls', 'error'], rows)}`;
}
