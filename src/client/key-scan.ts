import * as grpc from '@grpc/grpc-js';
import { RingCacheError } from '../errors';
import { loadServices } from '../proto/load';
import { METADATA } from '../proto/messages';
import { errorFromWire } from '../proto/status-codes';
import { CHANNEL_OPTIONS } from '../transport/pipeline-connection';
import { channelCredentials, withTls, type TlsOptions } from '../transport/tls';
import { withUserToken } from '../transport/user-token';
import type { ClusterMap } from './topology-client';

/** Options of `RingCache.scan()`. */
export interface ScanOptions {
  /** Only keys that start with it (after the client's keyPrefix). Default: every key. */
  prefix?: string;
  /**
   * Keys per page asked of a node, 1..10000 (default 1000): what the client holds at once, and what
   * a node holds to answer. Each page reads the node's whole key index, so larger pages cost less.
   */
  count?: number;
  /** Deadline of each page in milliseconds (default: the client's timeoutMs). */
  timeoutMs?: number;
  /** Stops the scan: the next step rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface ScanResponse {
  keys: string[];
  cursor: string;
}

type CacheStub = grpc.Client & {
  Scan(
    req: { prefix: string; count: number; cursor: string },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: ScanResponse) => void,
  ): void;
};

/** Most keys per page, as nodes allow (server/key-scan.ts MAX_SCAN_COUNT). */
const MAX_COUNT = 10_000;

/** Member states whose node is asked: a suspect one may well answer. */
const ASKED = new Set(['alive', 'suspect']);

/** Cache/Scan calls to the nodes, one stub per address (connections kept for the next scan). */
export class ScanClient {
  readonly #stubs = new Map<string, CacheStub>();
  readonly #options: grpc.ClientOptions;
  readonly #credentials: grpc.ChannelCredentials;

  constructor(tls?: TlsOptions, userToken?: string) {
    this.#options = withTls(withUserToken(CHANNEL_OPTIONS, userToken), tls);
    this.#credentials = channelCredentials(tls);
  }

  page(
    address: string,
    prefix: string,
    count: number,
    cursor: string,
    timeoutMs: number,
  ): Promise<ScanResponse> {
    let stub = this.#stubs.get(address);
    if (!stub) {
      const { Cache } = loadServices();
      stub = new Cache(address, this.#credentials, this.#options) as unknown as CacheStub;
      this.#stubs.set(address, stub);
    }
    return new Promise((resolve, reject) =>
      stub.Scan(
        { prefix, count, cursor },
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (!err && res) return resolve(res);
          const e = err ?? ({ code: grpc.status.INTERNAL, details: 'empty answer' } as grpc.ServiceError);
          const name = e.metadata?.get(METADATA.errorCode)[0];
          reject(errorFromWire(e.code, e.details ?? e.message, typeof name === 'string' ? name : undefined));
        },
      ),
    );
  }

  close(): void {
    for (const s of this.#stubs.values()) s.close();
    this.#stubs.clear();
  }
}

/** ScanOptions.count, checked. */
export function scanCount(count: number | undefined): number {
  if (count === undefined) return 1000;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `count must be a whole number 1..${MAX_COUNT}, got ${count}`,
    );
  return count;
}

/**
 * Every key under `prefix` in the cluster, once: the nodes are walked one after another, a page at
 * a time, and a key is kept only from the node that is its first replica on the ring among those
 * asked (alive or suspect when the scan began), so no set of keys seen is needed. A node that cannot
 * be read ends the scan with its error: the keys it holds first would be missing otherwise. A key
 * that moves between nodes during the scan (nodes joining or leaving) may be missed or repeated.
 */
export async function* scanCluster(
  map: ClusterMap,
  client: Pick<ScanClient, 'page'>,
  opts: { prefix: string; count: number; timeoutMs: number; signal?: AbortSignal },
): AsyncGenerator<string, void, undefined> {
  const { ring, members, replication } = map;
  const asked = ring.nodeIds.filter((id) => ASKED.has(members.get(id)?.state ?? 'unknown'));
  const skipped = new Set(ring.nodeIds.filter((id) => !asked.includes(id)));
  const factor = Math.min(replication.factor, ring.nodeIds.length);
  for (const id of asked) {
    const address = members.get(id)!.address;
    let cursor = '';
    do {
      opts.signal?.throwIfAborted();
      let page: ScanResponse;
      try {
        page = await client.page(address, opts.prefix, opts.count, cursor, opts.timeoutMs);
      } catch (err) {
        const e = err instanceof RingCacheError ? err : new RingCacheError('UNAVAILABLE', String(err));
        throw new RingCacheError(e.code, `scan could not read node ${id} (${address}): ${e.message}`, {
          cause: err,
        });
      }
      for (const key of page.keys) {
        const first = ring.preferenceList(key, factor).find((n) => !skipped.has(n));
        if (first === id) yield key;
      }
      cursor = page.cursor;
    } while (cursor !== '');
  }
}
