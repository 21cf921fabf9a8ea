/**
 * `npm run bench:restart`: a node of a local 3-node cluster (real processes, N=3, W=2) holding
 * --keys keys (default 1M, 100-byte values) is SIGKILLed and restarted empty under a closed-loop SDK
 * load (90% get / 10% set, --concurrency in flight). Reports how long it stays catching up (from its
 * restart to health SERVING), the catch-up's keys/s and MB/s (its own metrics), and the client's
 * p50/p99 before and during the catch-up. Writes bench/results/restart.{md,json}.
 * Flags: --keys K --concurrency C --before S (seconds of load measured before the kill)
 */
import * as hdr from 'hdr-histogram-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster';
import { RingCache } from '../src/index';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';

const keyCount = Number(flag('keys', '1000000'));
const concurrency = Number(flag('concurrency', '64'));
const beforeSeconds = Number(flag('before', '5'));
const value = Buffer.alloc(100, 'v');

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

async function metric(http: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** A closed loop of `concurrency` callers recording each call's latency in whichever phase is current. */
function load(cache: RingCache, phases: { current: hdr.Histogram | undefined }, stop: () => boolean) {
  let failed = 0;
  const loop = async (seed: number) => {
    let i = seed;
    while (!stop()) {
      i = (i * 1103515245 + 12345) % 2147483648;
      const key = `key:${i % keyCount}`;
      const started = process.hrtime.bigint();
      try {
        if (i % 10 === 0) await cache.set(key, value);
        else await cache.get(key);
      } catch {
        failed++;
      }
      phases.current?.recordValue(Number(process.hrtime.bigint() - started) / 1000);
    }
  };
  return Promise.all(Array.from({ length: concurrency }, (_, s) => loop(s + 1))).then(() => failed);
}

const ms = (h: hdr.Histogram, q: number) => h.getValueAtPercentile(q) / 1000;

async function main(): Promise<void> {
  const config = await testConfig({
    nodes: 3,
    factor: 3,
    writeQuorum: 2,
    maxMemoryBytes: 1024 * 1024 * 1024,
  });
  const cluster = new LocalCluster(config);
  await cluster.start();
  const victim = config.nodes[2]!;
  try {
    const cache = await RingCache.connect({ seeds: config.nodes.map((n) => n.address), timeoutMs: 10_000 });
    for (let i = 0; i < keyCount; i += 2000) {
      const entries = [];
      for (let j = i; j < Math.min(keyCount, i + 2000); j++) entries.push({ key: `key:${j}`, value });
      await cache.setMany(entries);
      progress(`preloading ${Math.min(keyCount, i + 2000)}/${keyCount} keys`);
    }
    const before = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
    const during = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
    const phases: { current: hdr.Histogram | undefined } = { current: undefined };
    let stopping = false;
    const running = load(cache, phases, () => stopping);
    await new Promise((r) => setTimeout(r, 1000)); // warm-up
    phases.current = before;
    progress(`measuring ${beforeSeconds} s of load before the restart`);
    await new Promise((r) => setTimeout(r, beforeSeconds * 1000));
    phases.current = undefined;
    await cluster.kill(victim.id, 'SIGKILL');
    phases.current = during;
    progress(`${victim.id} killed; restarting it empty and waiting for SERVING`);
    const restartedAt = Date.now();
    await cluster.startNode(victim.id);
    const catchingUpMs = Date.now() - restartedAt;
    phases.current = undefined;
    stopping = true;
    const failed = await running;
    const records = await metric(victim.http, 'ringcache_catch_up_records_total');
    const bytes = await metric(victim.http, 'ringcache_catch_up_bytes_total');
    await cache.close();
    const result = {
      keys: keyCount,
      concurrency,
      catchingUpMs,
      records,
      keysPerSecond: Math.round((records * 1000) / catchingUpMs),
      megabytesPerSecond: Number(((bytes / 1e6) * (1000 / catchingUpMs)).toFixed(1)),
      before: { calls: before.totalCount, p50Ms: ms(before, 50), p99Ms: ms(before, 99) },
      during: { calls: during.totalCount, p50Ms: ms(during, 50), p99Ms: ms(during, 99) },
      failedCalls: failed,
    };
    process.stderr.write('\n');
    const md = [
      `# Restart of a node holding ${keyCount.toLocaleString('en')} keys`,
      '',
      `\`npm run bench:restart\` (3 nodes, N=3, W=2, 100-byte values, ${concurrency} calls in flight, 90% get).`,
      '',
      '| catching up | records pulled | keys/s | MB/s | p50 before | p99 before | p50 during | p99 during | failed calls |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${(catchingUpMs / 1000).toFixed(2)} s | ${records.toLocaleString('en')} | ${result.keysPerSecond.toLocaleString('en')} | ${result.megabytesPerSecond} | ${result.before.p50Ms.toFixed(2)} ms | ${result.before.p99Ms.toFixed(2)} ms | ${result.during.p50Ms.toFixed(2)} ms | ${result.during.p99Ms.toFixed(2)} ms | ${failed} |`,
      '',
    ].join('\n');
    const out = path.resolve(__dirname, '../../bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'restart.json'), JSON.stringify(result, null, 2));
    writeFileSync(path.join(out, 'restart.md'), md);
    console.log(md);
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
