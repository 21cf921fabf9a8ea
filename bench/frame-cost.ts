/**
 * `node dist/bench/frame-cost.js`: what one Cache.PipelinePacked frame costs, apart from its operations.
 * One node, one bare PackedConnection, one frame in flight at a time carrying K gets of a stored key;
 * prints client and node CPU per frame and per operation for several K. The difference between K=1
 * and larger K separates the fixed per-frame cost (gRPC, HTTP/2, syscalls, wake-ups) from per-op work.
 * Flags: --seconds S (default 3) --sizes 1,4,16,64,256
 */
import { LocalCluster } from '../src/cli/local-cluster';
import { PackedConnection } from '../src/transport/packed-connection';
import type { PackedGet } from '../src/proto/packed';
import { testConfig } from '../test/support/cluster';
import { processCpuSeconds } from './proc-cpu';
import { flag } from './flags';

async function main(): Promise<void> {
  const seconds = Number(flag('seconds', '3'));
  const sizes = flag('sizes', '1,4,16,64,256').split(',').map(Number);
  const config = await testConfig({ nodes: 1, factor: 1, writeQuorum: 1, readQuorum: 1 });
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
    nodeArgs: process.env.FRAME_COST_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FRAME_COST_PROF}`]
      : [],
  });
  await cluster.start();
  const node = config.nodes[0]!;
  const conn = new PackedConnection({ address: node.address, maxOpsPerFrame: 1024 });
  try {
    await conn.send([1, 'k', Buffer.alloc(100, 'v'), 0, 0, 0, 0], Date.now() + 5000);
    console.log('| ops/frame | frames/s | client µs/frame | node µs/frame | client µs/op | node µs/op |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    const pid = cluster.pid(node.id)!;
    for (const k of sizes) {
      const op: PackedGet = [0, 'k', 0];
      const round = () => Promise.all(Array.from({ length: k }, () => conn.send(op, Date.now() + 5000)));
      const warmUntil = Date.now() + 500;
      while (Date.now() < warmUntil) await round();
      const node0 = processCpuSeconds(pid);
      const cpu0 = process.cpuUsage();
      const t0 = Date.now();
      let frames = 0;
      while (Date.now() - t0 < seconds * 1000) {
        await round();
        frames++;
      }
      const cpu = process.cpuUsage(cpu0);
      const clientUs = (cpu.user + cpu.system) / frames;
      const nodeUs = ((processCpuSeconds(pid) - node0) * 1e6) / frames;
      const fps = frames / ((Date.now() - t0) / 1000);
      console.log(
        `| ${k} | ${Math.round(fps)} | ${clientUs.toFixed(0)} | ${nodeUs.toFixed(0)} | ${(clientUs / k).toFixed(2)} | ${(nodeUs / k).toFixed(2)} |`,
      );
    }
  } finally {
    conn.close();
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
