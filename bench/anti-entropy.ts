/**
 * `npm run bench:anti-entropy`: what anti-entropy costs and how fast it repairs, on a local 3-node
 * cluster (N=3, W=2, real processes).
 * 1. Idle cost: `--keys` keys (default 1M) written and in sync, no load; over `--idle-seconds` the
 *    nodes' CPU share, the bytes anti-entropy sent and its passes over the stores. With
 *    `--writes-per-second W` a client overwrites W random keys a second meanwhile (at W = 2 they are
 *    on every replica before the next comparison): what comparisons cost a store that keeps changing.
 * 2. Repair: `--missed` keys (default 100k) written to one replica only over the Peer service (as
 *    if the others missed them); the time until anti-entropy has repaired them all.
 * Flags: --keys N --missed N --idle-seconds S --interval-ms MS --keys-per-second N --writes-per-second W
 */
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { GrpcPeerTransport } from '../src/server/grpc-peer-transport';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';
import { processCpuSeconds } from './proc-cpu';

const keys = Number(flag('keys', '1000000'));
const missed = Number(flag('missed', '100000'));
const idleSeconds = Number(flag('idle-seconds', '60'));
const intervalMs = Number(flag('interval-ms', '5000'));
const keysPerSecond = Number(flag('keys-per-second', '20000'));
const writesPerSecond = Number(flag('writes-per-second', '0'));

async function metricSum(cluster: LocalCluster, name: string): Promise<number> {
  let sum = 0;
  for (const n of cluster.config.nodes) {
    const text = await (await fetch(`http://${n.http}/metrics`)).text();
    sum += Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  }
  return sum;
}

async function main(): Promise<void> {
  const config = await testConfig({
    nodes: 3,
    factor: 3,
    writeQuorum: 2,
    readQuorum: 1,
    maxMemoryBytes: 2 ** 30,
  });
  config.antiEntropy = { ...config.antiEntropy, intervalMs, keysPerSecond };
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    await cluster.start();
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address], timeoutMs: 10_000 });
    const value = 'v'.repeat(100);
    for (let i = 0; i < keys; i += 2000) {
      await cache.setMany(
        Array.from({ length: Math.min(2000, keys - i) }, (_, j) => ({ key: `k${i + j}`, value })),
      );
      if (i % 100_000 === 0) log(`preloading ${i}/${keys}`);
    }
    const pids = config.nodes.map((n) => cluster.pid(n.id)!);
    const cpu = () => pids.reduce((a, p) => a + processCpuSeconds(p), 0);
    log(`idle for ${idleSeconds} s${writesPerSecond > 0 ? `, ${writesPerSecond} writes a second` : ''}`);
    const [cpu0, bytes0, compared0, scans0] = [
      cpu(),
      await metricSum(cluster, 'ringcache_anti_entropy_bytes_sent_total'),
      await metricSum(cluster, 'ringcache_anti_entropy_ranges_compared_total'),
      await metricSum(cluster, 'ringcache_anti_entropy_scans_total'),
    ];
    const idleEndMs = Date.now() + idleSeconds * 1000;
    let written = 0;
    while (Date.now() < idleEndMs) {
      if (
        writesPerSecond > 0 &&
        written < ((Date.now() - (idleEndMs - idleSeconds * 1000)) / 1000) * writesPerSecond
      ) {
        await cache.set(`k${Math.floor(Math.random() * keys)}`, value);
        written++;
      } else await new Promise((r) => setTimeout(r, 50));
    }
    await cache.close();
    const idleCpu = (cpu() - cpu0) / idleSeconds / pids.length;
    const scans = (await metricSum(cluster, 'ringcache_anti_entropy_scans_total')) - scans0;
    const idleBytes =
      ((await metricSum(cluster, 'ringcache_anti_entropy_bytes_sent_total')) - bytes0) / idleSeconds;
    const compared = (await metricSum(cluster, 'ringcache_anti_entropy_ranges_compared_total')) - compared0;

    log(`writing ${missed} keys to n1 only`);
    const peer = new GrpcPeerTransport({
      selfId: 'bench',
      addressOf: (id) => cluster.config.nodes.find((n) => n.id === id)?.address,
      clusterToken: cluster.clusterToken,
    });
    const now = Date.now();
    for (let i = 0; i < missed; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, missed - i) }, (_, j) =>
          peer.replicate(
            'n1',
            {
              key: `m${i + j}`,
              record: {
                value: Buffer.from(value),
                flags: 1,
                version: { timestamp: now * 1024 + i + j, node: 'n1' },
                expiresAtMs: 0,
                tombstone: false,
              },
            },
            Date.now() + 10_000,
          ),
        ),
      );
    }
    peer.close();
    const repaired0 = await metricSum(cluster, 'ringcache_anti_entropy_keys_repaired_total');
    const t0 = Date.now();
    for (;;) {
      const repaired = (await metricSum(cluster, 'ringcache_anti_entropy_keys_repaired_total')) - repaired0;
      if (repaired >= 2 * missed || Date.now() - t0 > 600_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const repairS = (Date.now() - t0) / 1000;
    console.log(
      `| keys in sync | writes/s | CPU per node | bytes/s sent | ranges compared | passes over a store | keys missed by 2 replicas | time to repair |`,
    );
    console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|`);
    console.log(
      `| ${keys.toLocaleString('en-US')} | ${writesPerSecond} | ${(idleCpu * 100).toFixed(1)}% | ${Math.round(idleBytes)} | ${compared} | ${scans} | ${missed.toLocaleString('en-US')} | ${repairS.toFixed(1)} s |`,
    );
    console.log(`(interval ${intervalMs} ms, keys_per_second ${keysPerSecond}, idle ${idleSeconds} s)`);
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
