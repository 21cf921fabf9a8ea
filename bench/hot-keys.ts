/*
 * Hot-key sketch benchmark: what HotKeys.read costs per operation on the data path, sampled 1 in 16
 * (the node's setting) and unsampled (every operation counted, the worst case), against an empty
 * loop over the same keys. Keys: 100k distinct 11-character keys with a skew (a third of the
 * operations on 10 keys, the rest spread), so the sketch sees both hits and evictions.
 * Median of 7 timed passes of 2M operations after a warm-up pass.
 *
 * Run: npm run build && node dist/bench/hot-keys.js
 */
import { HotKeys } from '../src/observability/hot-keys';

const OPS = 2_000_000;
const PASSES = 7;

const keys: string[] = [];
for (let i = 0; i < OPS; i++) {
  const n = i % 3 === 0 ? (i / 3) % 10 : Math.floor(Math.random() * 100_000);
  keys.push(`key:${String(n).padStart(7, '0')}`);
}

function nsPerOp(run: () => void): number {
  const times: number[] = [];
  run();
  for (let p = 0; p < PASSES; p++) {
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(PASSES / 2)] as number;
}

let sink = 0;
const baseline = nsPerOp(() => {
  for (const k of keys) sink += k.length;
});
const sampled = new HotKeys({ sampleEvery: 16 });
const everyOp = new HotKeys({ sampleEvery: 1 });
const at16 = nsPerOp(() => {
  for (const k of keys) {
    sink += k.length;
    sampled.read(k);
  }
});
const at1 = nsPerOp(() => {
  for (const k of keys) {
    sink += k.length;
    everyOp.read(k);
  }
});
console.log(`loop alone            ${baseline.toFixed(2)} ns/op`);
console.log(`+ HotKeys 1 in 16     ${(at16 - baseline).toFixed(2)} ns/op added`);
console.log(`+ HotKeys every op    ${(at1 - baseline).toFixed(2)} ns/op added`);
console.log(
  `top read: ${JSON.stringify(sampled.snapshot(3).reads.map((r) => r.key))} (${sink > 0 ? 'ok' : ''})`,
);
