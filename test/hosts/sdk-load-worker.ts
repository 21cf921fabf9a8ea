/**
 * A client pod for test/hosts/k8s-scale.test.ts: runs on a host of its own (a network namespace,
 * where the pods' DNS names resolve), connects the SDK to the seeds in argv, and writes keys no other
 * write uses from a few lanes at once, each acknowledged one remembered. Commands on stdin, one a
 * line, answered with one JSON line on stdout:
 * - `progress`: {"acked":n,"failed":n};
 * - `stop`: the load stops; {"stopped":true,"acked":n,"failed":n} once every write in flight ended;
 * - `verify`: every acknowledged key read back at QUORUM; {"lost":[keys not holding their value]};
 * - `ring`: the ring the SDK routes with, after asking for it again; {"epoch":n,"members":[ids]};
 * - `exit`: closes the SDK and exits.
 */
import { createInterface } from 'node:readline';
import { RingCache } from '../../src/index';

const LANES = 6;

async function main(): Promise<void> {
  const cache = await RingCache.connect({ seeds: process.argv.slice(2), timeoutMs: 10_000 });
  const acked = new Map<string, string>();
  let failed = 0;
  let stopped = false;
  let next = 0;
  const lane = async () => {
    while (!stopped) {
      const n = next++;
      const key = `k8s-${n}`;
      const value = `v${n}`;
      try {
        await cache.set(key, value);
        acked.set(key, value);
      } catch {
        failed++; // unknown outcome: never counted as acknowledged
      }
    }
  };
  const load = Promise.all(Array.from({ length: LANES }, lane));
  const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  say({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'progress') say({ acked: acked.size, failed });
    else if (line === 'stop') {
      stopped = true;
      await load;
      say({ stopped: true, acked: acked.size, failed });
    } else if (line === 'verify') {
      const lost: string[] = [];
      const keys = [...acked.keys()];
      for (let i = 0; i < keys.length; i += 200) {
        const batch = keys.slice(i, i + 200);
        const values = await cache.getMany<string>(batch, { consistency: 'quorum' });
        batch.forEach((k, j) => values[j] !== acked.get(k) && lost.push(k));
      }
      say({ lost, checked: keys.length });
    } else if (line === 'ring') {
      await cache.refreshTopology();
      const c = cache.cluster;
      say({ epoch: c.epoch, members: [...c.members.keys()].sort() });
    } else if (line === 'exit') break;
  }
  await cache.close();
  process.exit(0);
}

void main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exit(1);
});
