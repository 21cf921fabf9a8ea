import { RingCache } from '../../../src/index';
import { RingCacheError } from '../../../src/errors';
import type { PackedResult } from '../../../src/proto/packed';
import { PackedConnection } from '../../../src/transport/packed-connection';
import type { Driver } from './types';

const TIMEOUT_MS = 10_000;

/** Our SDK: routes each key on the ring and batches a turn's calls into one frame per node. */
export async function ringcacheDriver(seeds: string[]): Promise<Driver> {
  const cache = await RingCache.connect({ seeds, timeoutMs: TIMEOUT_MS });
  return {
    get: async (key) => (await cache.get(key)) !== undefined,
    set: async (key, value) => {
      await cache.set(key, value);
    },
    close: () => cache.close(),
  };
}

function check(r: PackedResult): PackedResult {
  if (r[0] !== 0)
    throw new RingCacheError('UNAVAILABLE', `raw pipeline op failed: code ${String(r[0])} ${String(r[1])}`);
  return r;
}

/**
 * The transport ceiling: the SDK's own frames (Cache.PipelinePacked, src/proto/packed.ts) sent
 * straight to one node that owns every key (a 1-node cluster, N=1), with no SDK routing, value codec
 * or failover in between.
 */
export function rawDriver(address: string): Driver {
  const conn = new PackedConnection({ address });
  return {
    // get [0, key, consistency] -> [0, found, ...]
    get: async (key) => check(await conn.send([0, key, 0], Date.now() + TIMEOUT_MS))[1] === true,
    // set [1, key, value, flags (raw), ttlMs, mode (always), consistency]
    set: async (key, value) => {
      check(await conn.send([1, key, value, 0, 0, 0, 0], Date.now() + TIMEOUT_MS));
    },
    close: () => {
      conn.close();
      return Promise.resolve();
    },
  };
}
