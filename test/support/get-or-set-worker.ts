/**
 * A separate process for the getOrSet tests (test/integration/get-or-set.test.ts): connects to the
 * seeds in argv, waits for 'go' from its parent, then runs `concurrency` getOrSet calls of one key at
 * once, and reports how many times its fill ran and what each call got. With `hang`, its fill never
 * ends (it says 'filling' when it starts): the parent kills it while it holds the lease.
 */
import { RingCache } from '../../src/index';

interface Go {
  key: string;
  concurrency: number;
  fillMs: number;
  leaseMs: number;
  hang?: boolean;
}

async function main(): Promise<void> {
  // A deadline long enough for twenty processes starting at once on a loaded machine: the test checks
  // that one loader runs, not how fast.
  const cache = await RingCache.connect({ seeds: process.argv.slice(2), timeoutMs: 30_000 });
  process.send!({ ready: true });
  const go = await new Promise<Go>((resolve) => process.once('message', (m) => resolve(m as Go)));
  let fills = 0;
  const fill = async () => {
    fills++;
    if (go.hang) {
      process.send!({ filling: true });
      await new Promise(() => undefined);
    }
    await new Promise((r) => setTimeout(r, go.fillMs));
    return `filled by ${process.pid}`;
  };
  const values = await Promise.all(
    Array.from({ length: go.concurrency }, () =>
      cache
        .getOrSet(go.key, fill, { ttl: 60_000, leaseMs: go.leaseMs })
        .catch((err: Error) => `error: ${err.message}`),
    ),
  );
  process.send!({ fills, values });
  await cache.close();
}

void main().catch((err: unknown) => {
  process.send!({ error: String(err) });
});
