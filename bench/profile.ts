/**
 * `npm run bench:profile`: where the CPU goes. Runs the SDK closed loop (90% get / 10% set, 100-byte
 * values) against a local 3-node cluster with `node --cpu-prof` on every node, profiles the client
 * in-process (inspector), and writes the top self-time functions of each to bench/results/profile.md.
 * Flags: --seconds S (default 8) --concurrency C (64) --keys K (100000) --factor N (1) --top T (15)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster';
import { RingCache } from '../src/index';
import { testConfig } from '../test/support/cluster';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
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
 * Self time per function, busy time only (idle excluded), as "share, function file:line" rows. With a
 * window, only samples taken inside it count: nodes are profiled for their whole life, and start-up and
 * preloading would otherwise crowd the load out of their tables.
 */
export function topSelfTime(
  profile: CpuProfile,
  top: number,
  window?: Window,
): { busyMs: number; rows: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') return;
    const where = f.url ? ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    busy += dt;
  });
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]): [string, number] => [k, t / busy]);
  return { busyMs: busy / 1000, rows };
}

function table(title: string, p: { busyMs: number; rows: [string, number][] }): string {
  const lines = p.rows.map(
    ([k, share]) => `| ${(share * 100).toFixed(1)}% | \`${k.replace(/\|/g, '\\|')}\` |`,
  );
  return [
    `### ${title} (busy ${p.busyMs.toFixed(0)} ms)`,
    '',
    '| self | function |',
    '|---:|---|',
    ...lines,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const seconds = Number(flag('seconds', '8'));
  const concurrency = Number(flag('concurrency', '64'));
  const keyCount = Number(flag('keys', '100000'));
  const factor = Number(flag('factor', '1'));
  const top = Number(flag('top', '15'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-prof-'));
  const config = await testConfig({
    nodes: 3,
    factor,
    writeQuorum: Math.min(2, factor),
    readQuorum: 1,
    maxMemoryBytes: 512 * 1024 * 1024,
  });
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  await cluster.start();
  const session = new Session();
  try {
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address] });
    const value = Buffer.alloc(100, 'v');
    for (let i = 0; i < keyCount; i += 2000) {
      await cache.setMany(
        Array.from({ length: Math.min(2000, keyCount - i) }, (_, j) => ({ key: `key:${i + j}`, value })),
      );
      process.stderr.write(`\rpreloading ${Math.min(keyCount, i + 2000)}/${keyCount}`);
    }
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const window: Window = { fromUs: nowUs(), toUs: Infinity };
    let stop = false;
    let ops = 0;
    const worker = async () => {
      while (!stop) {
        const key = `key:${Math.floor(Math.random() * keyCount)}`;
        if (Math.random() < 0.9) await cache.get(key);
        else await cache.set(key, value);
        ops++;
      }
    };
    const workers = Array.from({ length: concurrency }, worker);
    for (let s = seconds; s > 0; s--) {
      process.stderr.write(`\r\x1b[Kprofiling: ${s} s left`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    stop = true;
    await Promise.all(workers);
    window.toUs = nowUs();
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    await cache.close();
    process.stderr.write('\r\x1b[K');
    await cluster.stop(); // nodes write their profiles on exit
    const nodeProfiles = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const sections = [
      `# CPU profile: SDK against 3 nodes (N=${factor})`,
      '',
      `${new Date().toISOString()}, \`npm run bench:profile -- --seconds ${seconds} --concurrency ${concurrency} --factor ${factor}\`: ` +
        `${Math.round(ops / seconds).toLocaleString('en-US')} ops/s while profiled (profiling slows both sides), ` +
        `90% get / 10% set, ${keyCount} keys, 100-byte values. Top self-time functions, idle excluded. ` +
        'The client is profiled in-process through the inspector; nodes run with `node --cpu-prof`, and only ' +
        'their samples taken while the load ran are counted (start-up and preload excluded). `(program)` is time in V8 and native code not attributed to a JS function.',
      '',
      table('client (the SDK process)', topSelfTime(profile, top)),
      ...nodeProfiles.map((f, i) =>
        table(
          `node ${i + 1}`,
          topSelfTime(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile, top, window),
        ),
      ),
    ];
    const out = path.resolve(__dirname, '../../bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'profile.md'), sections.join('\n'));
    console.log(sections.join('\n'));
  } finally {
    session.disconnect();
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
