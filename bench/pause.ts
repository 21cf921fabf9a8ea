/**
 * `npm run bench:pause`: one node of a local 3-node cluster (N=3, W=2) SIGSTOPped for 5 s under a
 * closed-loop load through the SDK (16 loops, 90% get / 10% set over 1,000 keys). Prints ops/s before,
 * during and after the pause, the longest stretch in which no call completed, and failed calls: the
 * figures issue 12 §1 names (goal: none failed, no stretch over 250 ms, during >= 0.5 x before).
 * Flags: --loops N --pause-seconds S --before-seconds S
 */
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';

const loops = Number(flag('loops', '16'));
const pauseS = Number(flag('pause-seconds', '5'));
const beforeS = Number(flag('before-seconds', '5'));
const KEYS = 1000;

async function main(): Promise<void> {
  const config = await testConfig({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  try {
    process.stderr.write('starting 3 nodes (N=3, W=2)\n');
    await cluster.start();
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address] });
    for (let k = 0; k < KEYS; k += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => cache.set(`k${k + j}`, 'v')));
    }
    let phase: 'before' | 'during' | 'after' = 'before';
    const ops = { before: 0, during: 0, after: 0 };
    let failed = 0;
    let lastDone = Date.now();
    let longestGapMs = 0;
    let running = true;
    let i = 0;
    const loop = async () => {
      while (running) {
        const key = `k${(i++ * 7919) % KEYS}`;
        try {
          if (i % 10 === 0) await cache.set(key, 'v');
          else await cache.get(key);
          ops[phase]++;
          const now = Date.now();
          if (phase === 'during') longestGapMs = Math.max(longestGapMs, now - lastDone);
          lastDone = now;
        } catch {
          failed++;
        }
      }
    };
    const all = Array.from({ length: loops }, loop);
    process.stderr.write(`load for ${beforeS} s, then n2 paused for ${pauseS} s\n`);
    await new Promise((r) => setTimeout(r, beforeS * 1000));
    await cluster.kill('n2', 'SIGSTOP');
    phase = 'during';
    lastDone = Date.now();
    await new Promise((r) => setTimeout(r, pauseS * 1000));
    longestGapMs = Math.max(longestGapMs, Date.now() - lastDone);
    phase = 'after';
    await cluster.kill('n2', 'SIGCONT');
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await Promise.all(all);
    await cache.close();
    const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
    console.log(
      '| ops/s before | ops/s during the pause | ops/s after (3 s) | longest stretch with nothing done | failed |',
    );
    console.log('|---:|---:|---:|---:|---:|');
    console.log(
      `| ${rate(ops.before, beforeS)} | ${rate(ops.during, pauseS)} (${(ops.during / pauseS / (ops.before / beforeS)).toFixed(2)}x) | ${rate(ops.after, 3)} | ${longestGapMs} ms | ${failed} |`,
    );
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
