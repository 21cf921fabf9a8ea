/**
 * `npm run bench:idle`: what a cluster with no client costs. A local 3-node cluster (N=3, W=2, the
 * shipped settings otherwise: anti-entropy every 60 s, gossip, the memory guard's checks) is
 * preloaded with `--keys` keys of 100 bytes, the client closed, and after `--settle-seconds` each
 * node's CPU share (user + system, all threads, from /proc) is measured over `--windows`
 * consecutive windows of `--window-seconds`. Windows are kept apart rather than averaged into one
 * number: anti-entropy comes in rounds a minute apart, so one window shows its cost and the next
 * shows the timers alone.
 * With `--profile` the nodes run under `node --cpu-prof`, and once they have stopped the top 25
 * functions by self time are printed, counting only samples taken during the windows (start-up and
 * preloading would otherwise fill the table). `--profile-dir DIR` also keeps the .cpuprofile files
 * there (to open in DevTools); otherwise they go in a temporary directory that is removed.
 * `--probe-interval-ms` sets gossip's probe interval (the shipped default otherwise): with no keys,
 * what an idle node costs is mostly its timers and its probes (two messages each on a stream).
 * Flags: --keys N (1000000) --settle-seconds S (5) --window-seconds S (30) --windows N (4)
 *        --probe-interval-ms MS --profile --profile-dir DIR
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster';
import { RingCache } from '../src/index';
import { testConfig } from '../test/support/cluster';
import { selfTimes } from './cpu-profile';
import { flag } from './flags';
import { processCpuSeconds, threadCpuSeconds } from './proc-cpu';
import { metricsText, sampleIn } from '../test/support/node-metrics';

const keys = Number(flag('keys', '1000000'));
const settleSeconds = Number(flag('settle-seconds', '5'));
const windowSeconds = Number(flag('window-seconds', '30'));
const windows = Number(flag('windows', '4'));
const probeIntervalMs = flag('probe-interval-ms', '');
const keptProfileDir = flag('profile-dir', '');
const profile = process.argv.includes('--profile') || keptProfileDir !== '';
const TOP = 25;

type CpuProfile = Parameters<typeof selfTimes>[0];

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The monotonic clock in µs: the one the nodes' .cpuprofile timestamps are on (as cpu-profile.ts). */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const pct = (share: number) => `${(share * 100).toFixed(2)}%`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;

interface Measured {
  /** [window][node]: share of one core. */
  shares: number[][];
  /** [window][node]: what the window held besides the share (below). */
  parts: WindowParts[][];
  fromUs: number;
  toUs: number;
}

/** One node's window, apart from its total share: where that share went, as far as it is counted. */
interface WindowParts {
  /** Share of one core used by the main thread (JS, and the event loop's own work). */
  mainThread: number;
  /** V8's pauses for collections, by kind (major, minor, incremental): wall time within mainThread, as a share. */
  gc: Record<string, number>;
  /** Full collections the memory guard ran; anti-entropy's ranges compared, found differing, and its passes over the store. */
  guardCollections: number;
  rangesCompared: number;
  rangesDiffering: number;
  scans: number;
}

/** What the node's /metrics counters read at one time (see WindowParts). */
interface Counters {
  gcS: Record<string, number>;
  guardCollections: number;
  rangesCompared: number;
  rangesDiffering: number;
  scans: number;
}

const GC_KINDS = ['major', 'minor', 'incremental'];

async function counters(http: string): Promise<Counters> {
  const text = await metricsText(http);
  return {
    gcS: Object.fromEntries(
      GC_KINDS.map((kind) => [
        kind,
        sampleIn(text, 'nodejs_gc_duration_seconds_sum{', `kind="${kind}"`) || 0,
      ]),
    ),
    guardCollections: sampleIn(text, 'ringcache_memory_guard_collections_total'),
    rangesCompared: sampleIn(text, 'ringcache_anti_entropy_ranges_compared_total'),
    rangesDiffering: sampleIn(text, 'ringcache_anti_entropy_ranges_differing_total'),
    scans: sampleIn(text, 'ringcache_anti_entropy_scans_total'),
  };
}

async function preload(address: string): Promise<void> {
  const cache = await RingCache.connect({ seeds: [address], timeoutMs: 10_000 });
  try {
    const value = 'v'.repeat(100);
    for (let i = 0; i < keys; i += 2000) {
      await cache.setMany(
        Array.from({ length: Math.min(2000, keys - i) }, (_, j) => ({ key: `k${i + j}`, value })),
      );
      if (i % 100_000 === 0) log(`preloading ${i}/${keys}`);
    }
  } finally {
    // Closed before measuring: the point is a cluster with no client at all.
    await cache.close();
  }
}

/**
 * Each node's CPU share per window, and where it went. Wall time is read, not assumed: timers may
 * fire late. Each process's CPU and its main thread's are read at the same moment; the /metrics
 * counters after them, so that their reads cost the next window, not this one (a few ms of a node's
 * time, counted in both figures alike).
 */
async function measure(pids: number[], https: string[]): Promise<Measured> {
  const shares: number[][] = [];
  const parts: WindowParts[][] = [];
  const cpuNow = () => ({
    atUs: nowUs(),
    total: pids.map(processCpuSeconds),
    main: pids.map((pid) => threadCpuSeconds(pid, pid)),
  });
  const read = () => Promise.all(https.map(counters));
  let cpu = cpuNow();
  let before = await read();
  const fromUs = cpu.atUs;
  for (let w = 1; w <= windows; w++) {
    log(`window ${w}/${windows} (${windowSeconds} s)`);
    await sleep(windowSeconds * 1000);
    const next = cpuNow();
    const after = await read();
    const wallS = (next.atUs - cpu.atUs) / 1e6;
    shares.push(next.total.map((c, i) => (c - cpu.total[i]!) / wallS));
    parts.push(
      after.map((a, i) => {
        const b = before[i]!;
        return {
          mainThread: (next.main[i]! - cpu.main[i]!) / wallS,
          gc: Object.fromEntries(GC_KINDS.map((k) => [k, (a.gcS[k]! - b.gcS[k]!) / wallS])),
          guardCollections: a.guardCollections - b.guardCollections,
          rangesCompared: a.rangesCompared - b.rangesCompared,
          rangesDiffering: a.rangesDiffering - b.rangesDiffering,
          scans: a.scans - b.scans,
        };
      }),
    );
    [cpu, before] = [next, after];
  }
  return { shares, parts, fromUs, toUs: cpu.atUs };
}

/**
 * Per window, the nodes' mean of each part: the total share split between the main thread and the
 * others, V8's pauses within the main thread's share, and the counts of what ran.
 */
function partsTable(m: Measured): string[] {
  return [
    '### What the windows held (shares: mean per node; counts: summed over the nodes)',
    '',
    '| window | total | main thread | other threads | of main: GC major | GC minor | GC incremental | guard collections | ranges compared | ranges differing | store passes |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...m.parts.map((w, i) => {
      const total = mean(m.shares[i]!);
      const main = mean(w.map((p) => p.mainThread));
      return (
        `| ${i + 1} | ${pct(total)} | ${pct(main)} | ${pct(total - main)} | ` +
        GC_KINDS.map((k) => pct(mean(w.map((p) => p.gc[k]!)))).join(' | ') +
        ` | ${sum(w.map((p) => p.guardCollections))} | ${sum(w.map((p) => p.rangesCompared))}` +
        ` | ${sum(w.map((p) => p.rangesDiffering))} | ${sum(w.map((p) => p.scans))} |`
      );
    }),
    '',
    "The GC columns are V8's own count of its pauses, in wall time, part of the main thread's share;",
    "its concurrent marking and sweeping run on helper threads, counted with libuv's (and the",
    "profiler's) under other threads. /proc counts CPU in 10 ms ticks.",
  ];
}

function cpuTable(ids: string[], m: Measured): string[] {
  const means = m.shares.map(mean);
  const max = means.indexOf(Math.max(...means));
  const perNode = ids.map((_, n) => mean(m.shares.map((w) => w[n]!)));
  return [
    `| window | ${ids.join(' | ')} | mean |`,
    `|---:|${ids.map(() => '---:|').join('')}---:|`,
    ...m.shares.map((w, i) => `| ${i + 1} | ${w.map(pct).join(' | ')} | ${pct(means[i]!)} |`),
    `| all | ${perNode.map(pct).join(' | ')} | ${pct(mean(means))} |`,
    '',
    `Mean over all windows: ${pct(mean(means))} of a core per node; ` +
      `max window: ${max + 1} at ${pct(means[max]!)} (its busiest node ${pct(Math.max(...m.shares[max]!))}).`,
  ];
}

/**
 * The nodes' self time per function, summed over the nodes, during the windows only. Shares are of
 * all sampled busy time and of a core per node (self time over the windows' wall time x nodes).
 */
function profileTable(dir: string, m: Measured): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const total = new Map<string, number>();
  for (const f of files) {
    const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    for (const [k, us] of selfTimes(p, m)) total.set(k, (total.get(k) ?? 0) + us);
  }
  let busyUs = 0;
  for (const us of total.values()) busyUs += us;
  const nodeUs = (m.toUs - m.fromUs) * files.length;
  const rows = [...total].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return [
    `### Where the idle CPU goes: top ${TOP} by self time, ${files.length} nodes summed`,
    '',
    `Sampled busy time ${(busyUs / 1000).toFixed(0)} ms over ${((m.toUs - m.fromUs) / 1e6).toFixed(0)} s ` +
      `(${pct(busyUs / nodeUs)} of a core per node; /proc also counts V8's and libuv's other threads ` +
      "and the profiler's own sampling). `(program)` is V8 and native code not attributed to a JS function.",
    '',
    '| self ms | of busy | of a core per node | function |',
    '|---:|---:|---:|---|',
    ...rows.map(
      ([k, us]) =>
        `| ${(us / 1000).toFixed(0)} | ${pct(us / busyUs)} | ${pct(us / nodeUs)} | \`${k.replace(/\|/g, '\\|')}\` |`,
    ),
  ];
}

async function main(): Promise<void> {
  const dir = keptProfileDir || (profile ? mkdtempSync(path.join(os.tmpdir(), 'ringcache-idle-')) : '');
  if (keptProfileDir) mkdirSync(keptProfileDir, { recursive: true });
  const config = await testConfig({
    nodes: 3,
    factor: 3,
    writeQuorum: 2,
    readQuorum: 1,
    maxMemoryBytes: 2 * 2 ** 30,
  });
  if (probeIntervalMs !== '') {
    const interval = Number(probeIntervalMs);
    // The ack's wait stays below the interval, as the config's check requires.
    config.gossip = {
      ...config.gossip,
      probeIntervalMs: interval,
      probeTimeoutMs: Math.min(config.gossip.probeTimeoutMs, Math.floor(interval * 0.6)),
    };
  }
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
    ...(profile && { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] }),
  });
  // Ctrl-C during a run of minutes must not leave three nodes holding a GiB each behind.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the cluster`);
    process.once(signal, () => process.exit(130)); // a second Ctrl-C gives up waiting
    void cluster.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await cluster.start();
    await preload(config.nodes[0]!.address);
    log(`settling for ${settleSeconds} s`);
    await sleep(settleSeconds * 1000);
    const pids = config.nodes.map((n) => cluster.pid(n.id)!);
    const m = await measure(
      pids,
      config.nodes.map((n) => n.http),
    );
    // Profiles are written as the nodes exit, so the table comes after the stop. A node's stop waits
    // for the anti-entropy round in flight, whose scan is not cut short (up to 50 s for 1M keys at
    // 20,000 keys/s): past stop()'s 8 s grace it is SIGKILLed and writes no profile (a first 1M-key
    // run lost all three). So each gets as long as a scan takes.
    const stopStartedUs = nowUs();
    const exits = await Promise.all(
      config.nodes.map((n) => cluster.stopNode(n.id, profile ? 120_000 : 8000)),
    );
    log(`stopped in ${((nowUs() - stopStartedUs) / 1e6).toFixed(1)} s`);
    for (const e of exits)
      if (e?.signal) log(`node ${e.id} ended by ${e.signal}${profile ? ': no profile from it' : ''}`);
    const ae = config.antiEntropy;
    console.log(
      [
        `## Idle CPU: 3 nodes (N=3, W=2), ${keys.toLocaleString('en-US')} keys of 100 bytes, no client`,
        '',
        `\`node dist/bench/idle.js ${process.argv.slice(2).join(' ')}\`: ${windows} windows of ${windowSeconds} s ` +
          `after ${settleSeconds} s of settling; anti-entropy every ${ae.intervalMs / 1000} s at ` +
          `${ae.keysPerSecond.toLocaleString('en-US')} keys/s, gossip probes every ${config.gossip.probeIntervalMs} ms` +
          `${profile ? ', nodes under --cpu-prof (which costs CPU of its own)' : ''}. Share of one core per node.`,
        '',
        ...cpuTable(
          config.nodes.map((n) => n.id),
          m,
        ),
        '',
        ...partsTable(m),
        ...(profile ? ['', ...profileTable(dir, m)] : []),
        ...(keptProfileDir ? ['', `Profiles kept in ${keptProfileDir}.`] : []),
      ].join('\n'),
    );
  } finally {
    await cluster.stop();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (dir && !keptProfileDir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
