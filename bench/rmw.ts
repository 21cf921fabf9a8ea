/**
 * `npm run bench:rmw`: read-modify-writes through the SDK against a local 3-node cluster (N=3, W=2,
 * real processes), closed loop: increments spread over many keys, and increments of one hot key
 * (where a coordinator's rounds batch the calls that wait). Prints ops/s, p50 and p99 per point.
 * Flags: --seconds S --warmup S --concurrency C --keys K
 */
import * as hdr from 'hdr-histogram-js';
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';

const seconds = Number(flag('seconds', '5'));
const warmup = Number(flag('warmup', '1'));
const concurrency = Number(flag('concurrency', '64'));
const keyCount = Number(flag('keys', '10000'));

async function point(cache: RingCache, name: string, keyOf: () => string): Promise<string> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  let measuring = false;
  let stop = false;
  let ops = 0;
  let failed = 0;
  const worker = async () => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      try {
        await cache.incr(keyOf(), 1);
      } catch {
        failed++;
      }
      if (measuring) {
        histogram.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
        ops++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedS = (Date.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  const ms = (p: number) => (histogram.getValueAtPercentile(p) / 1000).toFixed(2);
  return `| ${name} | ${concurrency} | ${Math.round(ops / elapsedS).toLocaleString('en-US')} | ${ms(50)} | ${ms(99)} | ${failed} |`;
}

async function main(): Promise<void> {
  const config = await testConfig({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  const lines: string[] = [];
  try {
    process.stderr.write('starting 3 nodes (N=3, W=2)\n');
    await cluster.start();
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address], timeoutMs: 5000 });
    let i = 0;
    process.stderr.write(`incr over ${keyCount} keys, ${warmup + seconds} s\n`);
    lines.push(await point(cache, `incr, ${keyCount} keys`, () => `c:${(i++ * 7919) % keyCount}`));
    process.stderr.write(`incr of one key, ${warmup + seconds} s\n`);
    lines.push(await point(cache, 'incr, one hot key', () => 'hot'));
    await cache.close();
  } finally {
    await cluster.stop();
  }
  console.log(
    [
      '| point | concurrency | ops/s | p50 ms | p99 ms | failed |',
      '|---|---|---|---|---|---|',
      ...lines,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
