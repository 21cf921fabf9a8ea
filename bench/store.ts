/*
 * Storage engine micro-benchmark: in-process ops/s for set and get on 1M keys with 100-byte values
 * (keys `key:0000001`, 11 bytes, as in Redis's memory figures), and process memory per entry after
 * loading, next to a plain Map<string, Buffer> for reference.
 *
 * Memory is heapUsed + external after global.gc(), minus the same before loading, plus the store's
 * slot table (resizable buffers, which V8 counts in neither). Node's `external`
 * already includes `arrayBuffers` (Buffers and typed arrays), so adding arrayBuffers again would
 * count the value bytes twice; it is printed as its own column instead.
 *
 * Run: npm run bench:store  (node --expose-gc dist/bench/store.js [entries])
 */
import { Store } from '../src/store/store';

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const VALUE_BYTES = 100;
const GET_OPS = 2 * ENTRIES;
const REDIS_BYTES_PER_ENTRY = 184;

interface Engine {
  name: string;
  set(key: string, value: Buffer): void;
  get(key: string): Buffer | undefined;
  drop(): void;
  /** Memory the engine holds outside V8's heap and external counts (the store's slot table). */
  uncountedBytes?(): number;
}

interface Result {
  name: string;
  loadOpsPerSec: number;
  getOpsPerSec: number;
  setOpsPerSec: number;
  bytesPerEntry: number;
  arrayBuffersPerEntry: number;
}

function keyOf(i: number): string {
  // 11 characters: under V8's 13-character threshold, so this is a flat string, not a cons string.
  return `key:${String(i).padStart(7, '0')}`;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc (npm run bench:store)');
  collect();
  collect();
}

function memory(): { total: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  return { total: m.heapUsed + m.external, arrayBuffers: m.arrayBuffers };
}

/** A fixed pseudo-random permutation (xorshift), so runs are comparable. */
function shuffledKeys(n: number): string[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let x = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.map(keyOf);
}

function opsPerSec(ops: number, run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

function measure(make: () => Engine, value: Buffer): Result {
  gc();
  const before = memory();
  let engine: Engine | undefined = make();
  const e = engine;
  const loadOpsPerSec = opsPerSec(ENTRIES, () => {
    for (let i = 0; i < ENTRIES; i++) {
      e.set(keyOf(i), value);
      if (i > 0 && i % 250_000 === 0) process.stderr.write(`  ${e.name}: loaded ${i} of ${ENTRIES}\n`);
    }
  });
  gc();
  const after = memory();
  after.total += e.uncountedBytes?.() ?? 0;
  const lookups = shuffledKeys(ENTRIES);
  let found = 0;
  const getOpsPerSec = opsPerSec(GET_OPS, () => {
    for (let i = 0; i < GET_OPS; i++) if (e.get(lookups[i % ENTRIES]!) !== undefined) found++;
  });
  if (found !== GET_OPS) throw new Error(`${e.name}: ${GET_OPS - found} gets missed`);
  const setOpsPerSec = opsPerSec(ENTRIES, () => {
    for (let i = 0; i < ENTRIES; i++) e.set(lookups[i]!, value);
  });
  process.stderr.write(`  ${e.name}: done\n`);
  engine.drop();
  engine = undefined;
  return {
    name: e.name,
    loadOpsPerSec,
    getOpsPerSec,
    setOpsPerSec,
    bytesPerEntry: (after.total - before.total) / ENTRIES,
    arrayBuffersPerEntry: (after.arrayBuffers - before.arrayBuffers) / ENTRIES,
  };
}

function storeEngine(): Engine {
  let store: Store | undefined = new Store({
    nodeId: 'bench',
    maxMemoryBytes: 4 * 1024 ** 3,
    maxKeyBytes: 1024,
    maxValueBytes: 1024 * 1024,
  });
  return {
    name: 'Store',
    set: (key, value) => void store!.set(key, value, 0),
    get: (key) => store!.get(key)?.value,
    uncountedBytes: () => store!.stats().tableBytes,
    drop: () => {
      const stats = store!.stats();
      process.stderr.write(
        `  Store: stats.bytes per entry ${(stats.bytes / stats.keys).toFixed(1)} (accounted, not measured)\n`,
      );
      store = undefined;
    },
  };
}

function mapEngine(): Engine {
  let map: Map<string, Buffer> | undefined = new Map();
  return {
    name: 'Map<string, Buffer>',
    // A copy per entry, as the store would otherwise have to keep the caller's (pooled) buffer alive.
    set: (key, value) => void map!.set(key, Buffer.from(value)),
    get: (key) => map!.get(key),
    drop: () => {
      map = undefined;
    },
  };
}

function main(): void {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  process.stderr.write(`loading ${ENTRIES} entries (11-byte keys, ${VALUE_BYTES}-byte values)\n`);
  const results = [measure(storeEngine, value), measure(mapEngine, value)];
  const fmt = (n: number, width: number): string => Math.round(n).toLocaleString('en-US').padStart(width);
  console.log(`\n${ENTRIES} entries, 11-byte keys, ${VALUE_BYTES}-byte values (node ${process.version})`);
  console.log(
    'engine                 load ops/s   get ops/s   set ops/s   B/entry (heap+external)   of which arrayBuffers',
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(20)} ${fmt(r.loadOpsPerSec, 12)} ${fmt(r.getOpsPerSec, 11)} ${fmt(r.setOpsPerSec, 11)}   ${r.bytesPerEntry.toFixed(1).padStart(23)}   ${r.arrayBuffersPerEntry.toFixed(1).padStart(21)}`,
    );
  }
  const budget = REDIS_BYTES_PER_ENTRY * 1.2;
  const store = results[0]!;
  console.log(
    `Redis reference: ${REDIS_BYTES_PER_ENTRY} B/entry; 1.2x budget ${budget.toFixed(1)} B; Store is ${(store.bytesPerEntry / REDIS_BYTES_PER_ENTRY).toFixed(2)}x`,
  );
}

main();
