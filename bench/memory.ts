/**
 * `npm run bench:memory`: how a node's RSS compares with its `max_memory` when values are large.
 * One node (max_memory 256 MiB by default) takes sets of `--value-kb` KiB values over `--keys` keys
 * (so that LRU eviction runs), `--rounds` times over, through the SDK with 16 loops; RSS is sampled
 * every 100 ms. Prints the peak and the settled RSS (after a 3 s rest) as multiples of max_memory.
 * Flags: --max-memory-mb M --value-kb K --keys N --rounds R
 */
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';
import { rssMb } from './proc-cpu';

const maxMemoryMb = Number(flag('max-memory-mb', '256'));
const valueKb = Number(flag('value-kb', '1024'));
const keys = Number(flag('keys', String(Math.ceil((maxMemoryMb * 2 * 1024) / valueKb))));
const rounds = Number(flag('rounds', '3'));

async function main(): Promise<void> {
  const config = await testConfig({
    nodes: 1,
    factor: 1,
    writeQuorum: 1,
    readQuorum: 1,
    maxMemoryBytes: maxMemoryMb * 1024 * 1024,
  });
  config.limits.maxValueBytes = Math.max(config.limits.maxValueBytes, valueKb * 1024);
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
  });
  try {
    await cluster.start();
    const pid = cluster.pid('n1')!;
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address], timeoutMs: 10_000 });
    const value = Buffer.alloc(valueKb * 1024, 7);
    let peak = 0;
    let peakAtMs = 0;
    const sampledFrom = Date.now();
    const timeline: number[] = [];
    const sampler = setInterval(() => {
      const rss = rssMb(pid);
      timeline.push(Math.round(rss));
      if (rss > peak) [peak, peakAtMs] = [rss, Date.now() - sampledFrom];
    }, 100);
    let next = 0;
    const total = keys * rounds;
    const loop = async () => {
      for (let i = next++; i < total; i = next++) await cache.set(`big:${i % keys}`, value);
    };
    process.stderr.write(
      `${total} sets of ${valueKb} KiB over ${keys} keys, max_memory ${maxMemoryMb} MiB\n`,
    );
    const startedAt = Date.now();
    await Promise.all(Array.from({ length: 16 }, loop));
    const seconds = (Date.now() - startedAt) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    clearInterval(sampler);
    const settled = rssMb(pid);
    if (process.env.MEMORY_TIMELINE) process.stderr.write(`RSS every 100 ms (MiB): ${timeline.join(' ')}\n`);
    const metrics = await (await fetch(`http://${config.nodes[0]!.http}/metrics`)).text();
    const read = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0) / 2 ** 20;
    process.stderr.write(
      `peak ${(peakAtMs / 1000).toFixed(1)} s into ${seconds.toFixed(1)} s of load; ${Math.round(total / seconds)} sets/s (${Math.round((total * valueKb) / 1024 / seconds)} MiB/s), guard: ${read('ringcache_memory_guard_collections_total') * 2 ** 20} collections, pressure ${read('ringcache_memory_pressure_bytes').toFixed(0)} MiB, kept by the allocators ${read('ringcache_memory_allocator_kept_bytes').toFixed(0)} MiB, rest ${read('ringcache_memory_rest_bytes').toFixed(0)} MiB; ` +
        `heap used ${read('nodejs_heap_size_used_bytes').toFixed(0)} MiB, heap total ${read('nodejs_heap_size_total_bytes').toFixed(0)} MiB, external ${read('nodejs_external_memory_bytes').toFixed(0)} MiB, store bytes ${read('ringcache_store_bytes').toFixed(0)} MiB, arena ${read('ringcache_store_arena_bytes').toFixed(0)} MiB\n`,
    );
    await cache.close();
    console.log('| value size | max_memory | peak RSS | settled RSS |');
    console.log('|---:|---:|---:|---:|');
    console.log(
      `| ${valueKb} KiB | ${maxMemoryMb} MiB | ${Math.round(peak)} MiB (${(peak / maxMemoryMb).toFixed(2)}x) | ${Math.round(settled)} MiB (${(settled / maxMemoryMb).toFixed(2)}x) |`,
    );
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
