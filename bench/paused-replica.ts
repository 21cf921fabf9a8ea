/**
 * `npm run bench:paused-replica`: how long a replica paused under write load takes to converge once
 * it resumes (issue 13 §2: goal within 30 s of resuming after a 3-minute pause). A local 3-node
 * cluster (N=3, W=2, the shipped anti-entropy and hint settings) takes sets of new values over
 * `--keys` keys through the SDK (8 loops); n3 is SIGSTOPped for `--pause-seconds`, then resumed and
 * the load stopped; every few hundred ms each key's replicas are read through Explain, until all
 * hold the same version. Prints the keys apart at the resume and the seconds to converge.
 * Flags: --keys N --pause-seconds S
 */
import { LocalCluster } from '../src/cli/local-cluster';
import { RingCache } from '../src/index';
import { testConfig } from '../test/support/cluster';
import { keysApart } from '../test/support/replicas';
import { flag } from './flags';

const keys = Number(flag('keys', '10000'));
const pauseS = Number(flag('pause-seconds', '180'));

const allKeys = Array.from({ length: keys }, (_, i) => `pr-${i}`);
const apart = async (address: string) => (await keysApart(address, allKeys, 200)).length;

async function main(): Promise<void> {
  const config = await testConfig({
    nodes: 3,
    factor: 3,
    writeQuorum: 2,
    readQuorum: 1,
    maxMemoryBytes: 256 * 2 ** 20,
  });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  try {
    await cluster.start();
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address], timeoutMs: 5000 });
    let running = true;
    let writes = 0;
    let i = 0;
    const loop = async () => {
      while (running) {
        const n = i++;
        await cache.set(`pr-${(n * 7919) % keys}`, `v${n}`).then(
          () => writes++,
          () => undefined,
        );
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await new Promise((r) => setTimeout(r, 3000));
    const pid = cluster.pid('n3')!;
    process.kill(pid, 'SIGSTOP');
    process.stderr.write(`n3 paused for ${pauseS} s under load\n`);
    const progress = setInterval(() => process.stderr.write(`  ${writes} writes acknowledged\n`), 30_000);
    await new Promise((r) => setTimeout(r, pauseS * 1000));
    clearInterval(progress);
    process.kill(pid, 'SIGCONT');
    const resumedAt = Date.now();
    running = false;
    await Promise.all(loops);
    const via = config.nodes[0]!.address;
    const first = await apart(via);
    let left = first;
    while (left > 0 && Date.now() - resumedAt < 600_000) {
      await new Promise((r) => setTimeout(r, 500));
      left = await apart(via);
      process.stderr.write(`  ${((Date.now() - resumedAt) / 1000).toFixed(1)} s: ${left} keys apart\n`);
    }
    await cache.close();
    console.log(
      `paused ${pauseS} s under load (${writes} writes acknowledged over ${keys} keys): ${first} keys apart just after the resume; ` +
        (left === 0
          ? `converged ${((Date.now() - resumedAt) / 1000).toFixed(1)} s after resuming`
          : `${left} still apart after 600 s`),
    );
  } finally {
    await cluster.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
