/**
 * The workload every system gets, byte for byte: the same keys, 100-byte values, 90% get / 10% set,
 * keys drawn uniformly by the same seeded generator.
 */

export const VALUE_BYTES = 100;
export const GET_SHARE = 0.9;
export const VALUE = Buffer.alloc(VALUE_BYTES, 'v');

/** Keys of the throughput phase: `key:0` .. `key:99999`. */
export function loadKey(i: number): string {
  return `key:${i}`;
}

/** Keys of the memory phase: exactly 11 bytes (`m:000000042`), as the issue asks. */
export function memoryKey(i: number): string {
  return `m:${String(i).padStart(9, '0')}`;
}

export type KeyStyle = 'load' | 'memory';

export function keyOf(style: KeyStyle, i: number): string {
  return style === 'load' ? loadKey(i) : memoryKey(i);
}

/** A small LCG: deterministic per seed, cheap enough not to show in the client's CPU. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 1) / 0x80000000;
  };
}
