/**
 * `npm run bench`: the SDK against a local 3-node cluster (real processes), closed loop.
 * 100k keys preloaded, 100-byte values, 90% get / 10% set, concurrency 64 and 256, 10 s each after a
 * 2 s warm-up, for N=1 and for N=3/W=2. Prints ops/s, p50, p99, CPU seconds of client and nodes,
 * and the nodes' page faults per operation.
 * Flags: --seconds S --warmup S --keys K --concurrency 64,256 --rows n1,n3 (also n3r2: N=3 W=2 R=2,
 *        every get a quorum read across two replicas)
 *        --node-args "..." (extra node/V8 flags for the node processes, e.g. to try GC settings)
 *        --tls on (TLS with client certificates required: clients and nodes over mTLS, certificates
 *        from `ringcache certs`); also prints what connect() took, its TLS handshakes included
 */
import * as hdr from 'hdr-histogram-js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RingCache, type TlsOptions } from '../src/index';
import { makeCerts } from '../src/cli/certs';
import type { TlsConfig } from '../src/config/types';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { processCpuSeconds, processPageFaults } from './proc-cpu';
import { flag } from './flags';

const seconds = Number(flag('seconds', '10'));
const warmup = Number(flag('warmup', '2'));
const keyCount = Number(flag('keys', '100000'));
const concurrencies = flag('concurrency', '64,256').split(',').map(Number);
const rows = flag('rows', 'n1,n3').split(',');
const nodeArgs = flag('node-args', '').split(' ').filter(Boolean);
const value = Buffer.alloc(100, 'v');
const tlsOn = flag('tls', 'off') === 'on';

interface Row {
  setup: string;
  concurrency: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  failed: number;
  clientCpuS: number;
  nodesCpuS: number;
  /** Minor page faults the nodes took per operation measured. */
  nodesFaultsPerOp: number;
  /** Operations per Pipeline frame the nodes answered: how well the SDK batched. */
  opsPerFrame: number;
  /** Replica records per Replicate frame between nodes (N=3): how well replication batched. */
  recordsPerReplicateFrame: number;
}

/** Sum of the nodes' pipeline frame and operation counters (their /metrics). */
async function pipelineCounters(
  cluster: LocalCluster,
): Promise<{ frames: number; operations: number; replicateFrames: number; records: number }> {
  let frames = 0;
  let operations = 0;
  let replicateFrames = 0;
  let records = 0;
  for (const n of cluster.config.nodes) {
    const text = await (await fetch(`http://${n.http}/metrics`)).text();
    const read = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    frames += read('ringcache_pipeline_frames_total');
    operations += read('ringcache_pipeline_operations_total');
    replicateFrames += read('ringcache_replicate_frames_total');
    records += read('ringcache_replicate_records_total');
  }
  return { frames, operations, replicateFrames, records };
}

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

async function preload(cache: RingCache): Promise<void> {
  const batch = 2000;
  for (let i = 0; i < keyCount; i += batch) {
    const entries = [];
    for (let j = i; j < Math.min(keyCount, i + batch); j++) entries.push({ key: `key:${j}`, value });
    await cache.setMany(entries);
    progress(`preloading ${Math.min(keyCount, i + batch)}/${keyCount} keys`);
  }
}

async function runPoint(
  cache: RingCache,
  cluster: LocalCluster,
  setup: string,
  concurrency: number,
): Promise<Row> {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let measuring = false;
  let stop = false;
  let ops = 0;
  let failed = 0;
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const worker = async () => {
    while (!stop) {
      const key = `key:${Math.floor(rand() * keyCount)}`;
      const t0 = process.hrtime.bigint();
      try {
        if (rand() < 0.9) await cache.get(key);
        else await cache.set(key, value);
      } catch {
        failed++;
      }
      if (measuring) {
        histogram.recordValue(Number(process.hrtime.bigint() - t0) / 1000); // µs
        ops++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const startedAt = Date.now();
  const ticker = setInterval(() => {
    const elapsed = (Date.now() - startedAt) / 1000;
    progress(
      `${setup} conc ${concurrency}: ${measuring ? 'measuring' : 'warming up'}, ${Math.max(0, warmup + seconds - elapsed).toFixed(0)} s left`,
    );
  }, 500);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const pids = cluster.config.nodes.map((n) => cluster.pid(n.id)!);
  const nodesCpu0 = pids.reduce((a, p) => a + processCpuSeconds(p), 0);
  const nodesFaults0 = pids.reduce((a, p) => a + processPageFaults(p), 0);
  const counters0 = await pipelineCounters(cluster);
  const clientCpu0 = process.cpuUsage();
  measuring = true;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedS = (Date.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(clientCpu0);
  const nodesCpuS = pids.reduce((a, p) => a + processCpuSeconds(p), 0) - nodesCpu0;
  const nodesFaults = pids.reduce((a, p) => a + processPageFaults(p), 0) - nodesFaults0;
  const counters = await pipelineCounters(cluster);
  stop = true;
  await Promise.all(workers);
  clearInterval(ticker);
  progress('');
  return {
    setup,
    concurrency,
    opsPerSec: Math.round(ops / elapsedS),
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    p999Ms: histogram.getValueAtPercentile(99.9) / 1000,
    failed,
    clientCpuS: (clientCpu.user + clientCpu.system) / 1e6,
    nodesCpuS,
    nodesFaultsPerOp: nodesFaults / Math.max(1, ops),
    opsPerFrame:
      (counters.operations - counters0.operations) / Math.max(1, counters.frames - counters0.frames),
    recordsPerReplicateFrame:
      (counters.records - counters0.records) /
      Math.max(1, counters.replicateFrames - counters0.replicateFrames),
  };
}

async function main(): Promise<void> {
  const results: Row[] = [];
  for (const row of rows) {
    const factor = row === 'n1' ? 1 : 3;
    const readQuorum = row === 'n3r2' ? 2 : 1;
    const name =
      factor === 1 ? 'ringcache N=1' : `ringcache N=3 W=2${readQuorum > 1 ? ` R=${readQuorum}` : ''}`;
    const setup = `${name}${tlsOn ? ' mTLS' : ''}`;
    const config = await testConfig({
      nodes: 3,
      factor,
      writeQuorum: factor === 3 ? 2 : 1,
      readQuorum,
      maxMemoryBytes: 512 * 1024 * 1024,
    });
    const certs = tlsOn ? await localCerts() : undefined;
    if (certs) config.tls = certs.config;
    const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' }, nodeArgs });
    const stopAll = () => void cluster.stop().then(() => process.exit(130));
    process.once('SIGINT', stopAll);
    try {
      progress(`starting 3 nodes for ${setup}`);
      await cluster.start();
      const connectStart = process.hrtime.bigint();
      const cache = await RingCache.connect({
        seeds: [config.nodes[0]!.address],
        timeoutMs: 5000,
        ...(certs && { tls: certs.client }),
      });
      await Promise.all(config.nodes.map((_, i) => cache.get(`warm-${i}`))); // the first calls open the connections
      progress(
        `connect() and its first calls: ${(Number(process.hrtime.bigint() - connectStart) / 1e6).toFixed(1)} ms${tlsOn ? ' (TLS)' : ''}`,
      );
      await preload(cache);
      for (const c of concurrencies) results.push(await runPoint(cache, cluster, setup, c));
      await cache.close();
    } finally {
      process.off('SIGINT', stopAll);
      await cluster.stop();
    }
  }
  const header =
    '| setup | concurrency | ops/s | p50 ms | p99 ms | p99.9 ms | failed | client CPU s | nodes CPU s | nodes page faults/op | ops/frame | records/replicate frame |';
  const lines = results.map(
    (r) =>
      `| ${r.setup} | ${r.concurrency} | ${r.opsPerSec.toLocaleString('en-US')} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.p999Ms.toFixed(2)} | ${r.failed} | ${r.clientCpuS.toFixed(1)} | ${r.nodesCpuS.toFixed(1)} | ${r.nodesFaultsPerOp.toFixed(3)} | ${r.opsPerFrame.toFixed(1)} | ${r.recordsPerReplicateFrame.toFixed(1)} |`,
  );
  const table = [header, '|---|---|---|---|---|---|---|---|---|---|---|---|', ...lines].join('\n');
  console.log(
    `\n${keyCount} keys, 100-byte values, 90% get / 10% set, ${seconds} s per point after ${warmup} s warm-up\n`,
  );
  console.log(table);
  const dir = path.resolve(__dirname, '../../bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'sdk.json'),
    JSON.stringify({ date: new Date().toISOString(), seconds, keyCount, results }, null, 2),
  );
  writeFileSync(path.join(dir, 'sdk.md'), `${table}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/** A local CA and certificates for n1..n3 and a client, in a temporary directory (ringcache certs). */
async function localCerts(): Promise<{ config: TlsConfig; client: TlsOptions }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
  const files = await makeCerts({ out: dir, nodes: ['n1', 'n2', 'n3'], hosts: [], days: 2, force: false });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return {
    config: {
      caFile: files.ca.cert,
      certFile: path.join(dir, '{id}.pem'),
      keyFile: path.join(dir, '{id}-key.pem'),
      clientAuth: 'require',
    },
    client: {
      ca: readFileSync(files.ca.cert),
      cert: readFileSync(files.client.cert),
      key: readFileSync(files.client.key),
    },
  };
}
