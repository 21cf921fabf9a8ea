/**
 * Where the CPU goes under the SDK's closed loop: runs the load (90% get / 10% set, 100-byte values)
 * against a local 3-node cluster whose nodes run with `node --cpu-prof`, profiles the client
 * in-process through the inspector, and sums self time per function, counting only samples taken
 * while the load ran. Used by `npm run bench:profile` (profile.md) and `npm run bench:compare`
 * (the "Where the CPU goes" section of compare.md).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster';
import { RingCache } from '../src/index';
import { testConfig } from '../test/support/cluster';

export interface ProfileOptions {
  seconds: number;
  concurrency: number;
  keys: number;
  /** Replication factor of the 3-node cluster. */
  factor: number;
  /** R: replicas each get reads (at most the factor); default 1. */
  readQuorum?: number;
  /** Rows per table. */
  top: number;
  /** Called with a short status while preloading and profiling. */
  onProgress?: (status: string) => void;
  /**
   * Called once the cluster exists, so a caller can register it with its own cleanup (Ctrl-C,
   * failure); returns the function that unregisters it.
   */
  onCluster?: (cluster: LocalCluster, pids: () => number[]) => () => void;
}

export interface SelfTimeTable {
  title: string;
  /** Sampled busy time (idle excluded), ms. */
  busyMs: number;
  /** [function file:line, share of busy time]. */
  rows: [string, number][];
}

export interface ProfileSummary {
  seconds: number;
  concurrency: number;
  factor: number;
  keys: number;
  opsPerSec: number;
  client: SelfTimeTable;
  /** Each node's own table, then all nodes summed. */
  nodes: SelfTimeTable[];
  nodesSummed: SelfTimeTable;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds on the monotonic clock, the one process.hrtime reads (shared by all processes). */
  startTime: number;
}

/** A window on the monotonic clock, in microseconds. */
interface Window {
  fromUs: number;
  toUs: number;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time (µs) per function, busy samples only (idle excluded). With a window, only samples taken
 * inside it count: nodes are profiled for their whole life, and start-up and preloading would
 * otherwise crowd the load out of their tables.
 */
export function selfTimes(profile: CpuProfile, window?: Window): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') return;
    const where = f.url ? ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return self;
}

function topOf(title: string, self: Map<string, number>, top: number): SelfTimeTable {
  let busy = 0;
  for (const t of self.values()) busy += t;
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]): [string, number] => [k, busy > 0 ? t / busy : 0]);
  return { title, busyMs: busy / 1000, rows };
}

function summed(tables: Map<string, number>[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const t of tables) for (const [k, v] of t) total.set(k, (total.get(k) ?? 0) + v);
  return total;
}

export async function profileSdk(opts: ProfileOptions): Promise<ProfileSummary> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-prof-'));
  const config = await testConfig({
    nodes: 3,
    factor: opts.factor,
    writeQuorum: Math.min(2, opts.factor),
    readQuorum: Math.min(opts.readQuorum ?? 1, opts.factor),
    maxMemoryBytes: 512 * 1024 * 1024,
  });
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  const pids = () => config.nodes.map((n) => cluster.pid(n.id)).filter((p): p is number => p !== undefined);
  const forget = opts.onCluster?.(cluster, pids);
  const session = new Session();
  try {
    await cluster.start();
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address] });
    const value = Buffer.alloc(100, 'v');
    for (let i = 0; i < opts.keys; i += 2000) {
      await cache.setMany(
        Array.from({ length: Math.min(2000, opts.keys - i) }, (_, j) => ({ key: `key:${i + j}`, value })),
      );
      opts.onProgress?.(`preloading ${Math.min(opts.keys, i + 2000)}/${opts.keys}`);
    }
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const window: Window = { fromUs: nowUs(), toUs: Infinity };
    let stop = false;
    let ops = 0;
    const worker = async () => {
      while (!stop) {
        const key = `key:${Math.floor(Math.random() * opts.keys)}`;
        if (Math.random() < 0.9) await cache.get(key);
        else await cache.set(key, value);
        ops++;
      }
    };
    const startedAt = process.hrtime.bigint();
    const workers = Array.from({ length: opts.concurrency }, worker);
    for (let s = opts.seconds; s > 0; s--) {
      opts.onProgress?.(`profiling: ${s} s left`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    stop = true;
    await Promise.all(workers);
    window.toUs = nowUs();
    const elapsedS = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    await cache.close();
    await cluster.stop(); // nodes write their profiles on exit
    const nodeSelf = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .map((f) => selfTimes(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile, window));
    return {
      seconds: opts.seconds,
      concurrency: opts.concurrency,
      factor: opts.factor,
      keys: opts.keys,
      opsPerSec: ops / elapsedS,
      client: topOf('client (the SDK process)', selfTimes(profile), opts.top),
      nodes: nodeSelf.map((t, i) => topOf(`node ${i + 1}`, t, opts.top)),
      nodesSummed: topOf(`nodes (all ${nodeSelf.length} summed)`, summed(nodeSelf), opts.top),
    };
  } finally {
    session.disconnect();
    await cluster.stop();
    forget?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One table as Markdown, under a heading of the given level. */
export function selfTimeMarkdown(t: SelfTimeTable, level = '###'): string {
  return [
    `${level} ${t.title} (busy ${t.busyMs.toFixed(0)} ms)`,
    '',
    '| self | function |',
    '|---:|---|',
    ...t.rows.map(([k, share]) => `| ${(share * 100).toFixed(1)}% | \`${k.replace(/\|/g, '\\|')}\` |`),
    '',
  ].join('\n');
}

/** What the tables are, for a reader of the report. */
export function profileIntro(p: ProfileSummary): string {
  return (
    `SDK closed loop against a local 3-node cluster (N=${p.factor}), ${p.concurrency} in flight, ` +
    `${p.keys.toLocaleString('en-US')} keys, ${p.seconds} s: ` +
    `${Math.round(p.opsPerSec).toLocaleString('en-US')} ops/s while profiled (profiling slows both sides). ` +
    'Top self-time functions, idle excluded. The client is profiled in-process through the inspector; ' +
    'nodes run with `node --cpu-prof`, and only their samples taken while the load ran count. ' +
    '`(program)` is time in V8 and native code (HTTP/2, syscalls) not attributed to a JS function.'
  );
}
