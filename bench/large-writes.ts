/**
 * Large writes through the SDK: what they cost a node in memory, and how fast they go.
 *
 * Starts a 3-node cluster (N=3, W=2) of the given max_memory, then one SDK client keeps
 * --concurrency Sets of --value-bytes each in flight, to --keys keys, for --seconds, and prints
 * writes a second, MB a second, the client's p50/p99 and each node's RSS before and at its peak.
 * With --input-budget it overrides limits.max_client_input_bytes (default: what cluster.yml derives
 * from max_memory), to weigh its size.
 *
 * Flags: --max-memory-mb M (64) --value-bytes B (1048576) --concurrency C (32) --keys K (16)
 *        --seconds S (8) --input-budget BYTES (derived) --repeat R (1)
 */
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';
import { rssMb } from './proc-cpu';

const maxMemoryMb = Number(flag('max-memory-mb', '64'));
const valueBytes = Number(flag('value-bytes', String(1024 * 1024)));
const concurrency = Number(flag('concurrency', '32'));
const keys = Number(flag('keys', '16'));
const seconds = Number(flag('seconds', '8'));
const inputBudget = flag('input-budget', '');
const repeat = Number(flag('repeat', '1'));

async function once(): Promise<string> {
  const config = await testConfig({
    nodes: 3,
    maxMemoryBytes: maxMemoryMb * 1024 * 1024,
    ...(inputBudget && { limits: { maxClientInputBytes: Number(inputBudget) } }),
  });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  let cache: RingCache | undefined;
  try {
    await cluster.start();
    const sdk = (cache = new RingCache({ seeds: [config.nodes[0]!.address] }));
    await sdk.set('warm', 1);
    const pids = config.nodes.map((n) => cluster.pid(n.id)!);
    const before = pids.map(rssMb);
    const peak = [...before];
    const sampler = setInterval(
      () => pids.forEach((pid, i) => (peak[i] = Math.max(peak[i]!, rssMb(pid)))),
      50,
    );
    const value = Buffer.alloc(valueBytes, 7);
    const latencies: number[] = [];
    let failed = 0;
    const errors = new Map<string, number>();
    let next = 0;
    const endAt = Date.now() + seconds * 1000;
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < endAt) {
          const t = performance.now();
          try {
            await sdk.set(`large/${next++ % keys}`, value);
            latencies.push(performance.now() - t);
          } catch (err) {
            failed++;
            const text = `${(err as { code?: string }).code}: ${(err as Error).message}`.slice(0, 160);
            errors.set(text, (errors.get(text) ?? 0) + 1);
          }
        }
      }),
    );
    const elapsedS = (Date.now() - startedAt) / 1000;
    clearInterval(sampler);
    for (const [text, n] of errors) process.stderr.write(`${n} x ${text}\n`);
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    const perS = latencies.length / elapsedS;
    const budget = config.limits.maxClientInputBytes / (1024 * 1024);
    const rss = before.map((b, i) => `${b.toFixed(0)} -> ${peak[i]!.toFixed(0)}`).join(', ');
    return (
      `| ${budget.toFixed(1)} | ${perS.toFixed(1)} | ${((perS * valueBytes) / 1e6).toFixed(1)} | ` +
      `${at(0.5).toFixed(0)} | ${at(0.99).toFixed(0)} | ${failed} | ${rss} |`
    );
  } finally {
    await cache?.close();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (let i = 0; i < repeat; i++) rows.push(await once());
  process.stdout.write(
    `${concurrency} Sets of ${valueBytes} bytes at a time to ${keys} keys, max_memory ${maxMemoryMb} MiB, ${seconds} s\n` +
      '| max_client_input_bytes MiB | writes/s | MB/s | p50 ms | p99 ms | failed | RSS MB n1, n2, n3 (before -> peak) |\n' +
      '|---|---|---|---|---|---|---|\n' +
      rows.join('\n') +
      '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
