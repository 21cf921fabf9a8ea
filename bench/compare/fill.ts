import type { Driver } from './drivers/types';
import { VALUE, keyOf, type KeyStyle } from './workload';

export interface FillResult {
  failed: number;
  firstError?: string;
}

/** Stores keys 0..count-1 with `inFlight` sets outstanding; calls `onProgress` every 5000 keys. */
export async function fill(
  driver: Driver,
  style: KeyStyle,
  count: number,
  inFlight: number,
  onProgress: (done: number) => void,
): Promise<FillResult> {
  let next = 0;
  let done = 0;
  const result: FillResult = { failed: 0 };
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await driver.set(keyOf(style, i), VALUE);
      } catch (err) {
        result.failed++;
        result.firstError ??= err instanceof Error ? err.message : String(err);
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (++done % 5000 === 0) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  return result;
}
