/*
 * Ring benchmark: how evenly keys spread, how many move when a node joins, and what a lookup costs.
 *
 * - Balance: max/mean keys per node over 1M keys (`key:0000001`, 11 bytes), at 3, 5 and 10 nodes with
 *   vnodes 40 and 160; also the same figure from exact arc lengths (Ring.shares). Goal: <= 1.10 at 160.
 * - Movement: share of the 1M keys whose owner changes when n4 joins n1..n3 (ideal 25%, goal within
 *   10% of it, i.e. 22.5..27.5%), next to ownershipDiff's exact moved share of the hash space.
 * - Cost: ns per call for hashring.get on 100k distinct keys (its 5,000-entry LRU always misses, as
 *   for an SDK spreading over many keys), Ring.owner, Ring.preferenceList(key, 3), and the two ways to
 *   hash a key (pure-JS MD5 vs crypto.hash). Median of 5 timed passes after a warm-up pass.
 *
 * Run: npm run bench:ring  (node dist/bench/ring.js [keys])
 */
import HashRing from 'hashring';
import { cryptoKetamaHash, ketamaHash } from '../src/ring/ketama-hash';
import { movedShare, ownershipDiff } from '../src/ring/ownership-diff';
import { Ring } from '../src/ring/ring';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const LOOKUP_KEYS = 100_000;
const PASSES = 5;

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

function keyOf(i: number): string {
  // 11 characters: under V8's 13-character threshold, so a flat string, as keys read off the wire are.
  return `key:${String(i).padStart(7, '0')}`;
}

function balance(keys: readonly string[]): void {
  console.log(`\nbalance: max/mean keys per node over ${keys.length} keys (goal <= 1.10 at vnodes 160)`);
  console.log('nodes  vnodes  max/mean (keys)  max/mean (exact shares)  min/mean (keys)');
  for (const vnodes of [40, 160]) {
    for (const nodes of [3, 5, 10]) {
      const ring = new Ring(ids(nodes), { vnodes });
      const counts = new Map<string, number>(ring.nodeIds.map((id) => [id, 0]));
      for (const key of keys) {
        const owner = ring.owner(key);
        counts.set(owner, counts.get(owner)! + 1);
      }
      const mean = keys.length / nodes;
      const shares = [...ring.shares().values()];
      const row = [
        String(nodes).padStart(5),
        String(vnodes).padStart(7),
        (Math.max(...counts.values()) / mean).toFixed(3).padStart(16),
        (Math.max(...shares) * nodes).toFixed(3).padStart(24),
        (Math.min(...counts.values()) / mean).toFixed(3).padStart(16),
      ];
      console.log(row.join(' '));
    }
  }
}

function movement(keys: readonly string[]): void {
  console.log('\nmovement: n4 joins n1..n3 (ideal 25%, goal 22.5..27.5%)');
  console.log('vnodes  keys moved  exact share moved (ownershipDiff, n=1)  moved ranges (n=1, n=3)');
  for (const vnodes of [40, 160]) {
    const before = new Ring(ids(3), { vnodes });
    const after = new Ring(ids(4), { vnodes });
    let moved = 0;
    for (const key of keys) if (before.owner(key) !== after.owner(key)) moved++;
    const primary = ownershipDiff(before, after, 1);
    const replicas = ownershipDiff(before, after, 3);
    console.log(
      `${String(vnodes).padStart(6)}  ${pct(moved / keys.length).padStart(10)}  ${pct(movedShare(primary)).padStart(38)}  ` +
        `${primary.length}, ${replicas.length} (n=3 share ${pct(movedShare(replicas))})`,
    );
  }
}

/** Median ns per call of fn over keys, PASSES timed passes after one warm-up. */
function nsPerCall(keys: readonly string[], fn: (key: string) => unknown): number {
  const times: number[] = [];
  let sink = 0;
  for (let pass = 0; pass <= PASSES; pass++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < keys.length; i++) if (fn(keys[i]!) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - start) / keys.length;
    if (pass > 0) times.push(ns);
  }
  if (sink < 0) console.log(sink); // keeps the calls observable
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

function cost(): void {
  const keys = Array.from({ length: LOOKUP_KEYS }, (_, i) => keyOf(i));
  const members = ids(3);
  const reference = new HashRing(members, 'md5', { 'vnode count': 160 });
  const ring = new Ring(members, { vnodes: 160 });
  console.log(
    `\ncost: ns per call, ${LOOKUP_KEYS} distinct keys, 3 nodes x 160 vnodes (median of ${PASSES} passes)`,
  );
  const rows: [string, (key: string) => unknown][] = [
    ['hashring.get (LRU missing)', (k) => reference.get(k)],
    ['hashring.range(key, 3)', (k) => reference.range(k, 3)],
    ['Ring.owner', (k) => ring.owner(k)],
    ['Ring.preferenceList(key, 3)', (k) => ring.preferenceList(k, 3)],
    ['ketamaHash (pure-JS MD5)', (k) => ketamaHash(k)],
    ['crypto.hash md5', (k) => cryptoKetamaHash(k)],
  ];
  for (const [name, fn] of rows)
    console.log(`${name.padEnd(30)} ${nsPerCall(keys, fn).toFixed(0).padStart(6)} ns`);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function main(): void {
  const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
  console.log(`node ${process.version}`);
  balance(keys);
  movement(keys);
  cost();
}

main();
