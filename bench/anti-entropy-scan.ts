/**
 * `npm run bench:anti-entropy-scan`: the CPU anti-entropy's work costs per key held, in process (no
 * cluster, no pacing), on a store of `--keys` keys (default 200k) with 100-byte values and a 3-node
 * ring at N=3:
 * - "build": the digests of every range built for a ring (one pass over the store: at a start with
 *   keys, and after a join or a leave);
 * - "ranges match": the asker's round when the peer finds no range differing (digests kept up to
 *   date: no pass), the common case once replicas are in sync;
 * - "every range differs": the peer's answer when it holds what the asker lacks altogether (one
 *   pass, the records of every range).
 * Each is run `--rounds` times (default 5) after one warm-up, with a write before each. Prints the
 * median CPU ns per key of each.
 * Flags: --keys N --rounds N
 */
import { AntiEntropy } from '../src/cluster/recovery/anti-entropy';
import { RangeDigestTable } from '../src/cluster/recovery/range-digest-table';
import type { ClusterView } from '../src/cluster/cluster-view';
import type { RecordCopies } from '../src/cluster/replication/record-copies';
import type { Logger } from '../src/observability/logger';
import { Ring } from '../src/ring/ring';
import { Store } from '../src/store/store';
import { flag } from './flags';

const keys = Number(flag('keys', '200000'));
const rounds = Number(flag('rounds', '5'));

async function main(): Promise<void> {
  const store = new Store({
    nodeId: 'n1',
    maxMemoryBytes: 2 ** 31,
    maxKeyBytes: 250,
    maxValueBytes: 1 << 20,
  });
  const value = Buffer.alloc(100, 7);
  for (let i = 0; i < keys; i++) store.set(`key:${String(i).padStart(7, '0')}`, value, 0);
  const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: 160 });
  const scheduler = {
    now: () => Date.now(),
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (t: unknown) => clearTimeout(t as NodeJS.Timeout),
  };
  const view = {
    selfId: 'n1',
    epoch: () => 1,
    ring: () => ring,
    catchingUp: () => false,
    isAlive: () => true,
    scheduler,
    // The peer finds every range the same: the round ends after its digests.
    transport: {
      compare: () =>
        Promise.resolve({
          epochMismatch: false,
          building: false,
          rangesOnly: true,
          evicting: false,
          differing: [],
        }),
    },
  } as unknown as ClusterView;
  const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;
  const antiEntropy = new AntiEntropy({
    view,
    store,
    copies: {} as RecordCopies,
    factor: 3,
    logger: quiet,
    // Started for its digests; no round comes on its own within the run.
    intervalMs: 2 ** 30,
    keysPerSecond: Number.MAX_SAFE_INTEGER,
    bytesPerSecond: Number.MAX_SAFE_INTEGER,
  });
  antiEntropy.start();
  while ((await antiEntropy.round('n2')) === 'building') await new Promise((r) => setTimeout(r, 10));
  const build = async () => {
    const table = new RangeDigestTable(store, scheduler, Number.MAX_SAFE_INTEGER);
    table.start(ring, 1);
    while (!table.digestsOf(ring, 1)) await new Promise((r) => setImmediate(r));
    table.stop();
  };
  const cases: [string, () => Promise<unknown>][] = [
    ['ranges match (the round, digests kept up to date: no pass)', () => antiEntropy.round('n2')],
    [
      'every range differs (the answer, one pass with the records)',
      () => antiEntropy.compare({ from: 'n2', epoch: 1, ranges: [] }),
    ],
    // Last: a table of its own takes the store's listener from anti-entropy's.
    ['build (the digests of every range, one pass)', build],
  ];
  console.log(`anti-entropy comparison, ${keys.toLocaleString('en-US')} keys, median of ${rounds}`);
  for (const [name, run] of cases) {
    const nsPerKey: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      store.set('bench:changed', value, 0);
      const before = process.cpuUsage();
      await run();
      const cpu = process.cpuUsage(before);
      if (r > 0) nsPerKey.push(((cpu.user + cpu.system) * 1000) / keys);
    }
    nsPerKey.sort((a, b) => a - b);
    console.log(`  ${name}: ${Math.round(nsPerKey[Math.floor(nsPerKey.length / 2)]!)} ns of CPU per key`);
  }
  await antiEntropy.stop();
}

void main();
