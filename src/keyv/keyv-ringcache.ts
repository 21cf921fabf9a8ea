import { EventEmitter } from 'node:events';
import type { RingCacheOptions } from '../client/options';
import { RingCache } from '../client/ring-cache';
import { RingCacheError } from '../errors';

/** Values the iterator reads at once (one getMany). */
const ITERATOR_BATCH = 100;

/** ringcache's longest TTL (10 years, in ms): a larger `expires` can only be an absolute time. */
const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export interface KeyvRingCacheOptions extends Partial<RingCacheOptions> {
  /** A client to use (the adapter does not close it); else one is connected to `seeds`. */
  cache?: RingCache;
  /**
   * Keys are stored as `namespace::key`, under Keyv 5 and 6 alike; Keyv sets it from its own
   * `namespace` option.
   */
  namespace?: string;
  /**
   * Let `clear()` without a namespace delete every key of the cluster, other applications' included.
   * Default false: such a `clear()` is refused, since it cannot tell this adapter's keys from others'
   * (as `@keyv/redis` does; give Keyv a `namespace` instead).
   */
  noNamespaceAffectsAll?: boolean;
}

/** One entry of setMany, as Keyv passes it. */
export interface KeyvEntry {
  key: string;
  value: unknown;
  /** Absolute expiry, ms since the epoch (Keyv v6), or a relative TTL in ms (Keyv v5). */
  expires?: number;
}

type Method = { exists: boolean; methodType: 'async' | 'sync' | 'none' };

/**
 * A Keyv storage adapter over a ringcache cluster: `new Keyv({ store: new
 * KeyvRingCache({ seeds }) })`, and through Keyv, cache-manager v7 and NestJS's CacheModule.
 *
 * It declares the Keyv v6 contract (`capabilities.expires`): `set` takes an absolute `expires` in
 * ms since the epoch, which becomes the key's TTL in the cluster, so the cluster expires it (and
 * reclaims its memory) on time. Under Keyv v5, which passes a relative TTL in ms instead, it works
 * too: no TTL ringcache accepts (at most 10 years) is as large as a time since the epoch.
 *
 * Keys are stored as `namespace::key` under both. Keyv 5 puts its own `namespace:` before each key
 * it passes, Keyv 6 does not; Keyv 6 reads `capabilities` before it uses an adapter and Keyv 5
 * never does, so until something reads them, a key that starts with `namespace:` is taken as Keyv
 * 5's and that prefix is replaced, not doubled (`app:k` is stored as `app::k`, not `app::app:k`).
 *
 * `clear()` deletes the keys of its namespace on every node (Cluster/Flush with the namespace as
 * prefix), so it needs the cluster's secret. Without a namespace it is refused, unless
 * `noNamespaceAffectsAll` says to delete every key of the cluster. `iterator()` lists the keys of
 * the namespace (every key of the cluster without one) through the SDK's scan().
 */
export class KeyvRingCache extends EventEmitter {
  namespace: string | undefined;
  readonly namespaceSeparator = '::';
  /** The options it was made with, as Keyv adapters expose them (Keyv's own tests set fields on it). */
  readonly opts: Record<string, unknown>;
  readonly #cache: Promise<RingCache>;
  readonly #owned: boolean;
  /** Whether Keyv 6 (or anything else) read `capabilities`: keys then come without Keyv 5's prefix. */
  #keyv6 = false;

  constructor(options: KeyvRingCacheOptions | RingCache) {
    super();
    // `url` is read by Keyv 5 of any adapter that has an iterator (to decide whether to use it).
    this.opts = options instanceof RingCache ? { url: '' } : { url: '', ...options };
    if (options instanceof RingCache) {
      this.#cache = Promise.resolve(options);
      this.#owned = false;
    } else {
      this.namespace = options.namespace;
      this.#owned = options.cache === undefined;
      // A client it makes connects in the background and keeps trying until the cluster answers:
      // an application may start before its cache. Calls made meanwhile fail within their deadline,
      // and each failed attempt is told to Keyv, which listens for 'error'.
      const cache = options.cache ?? new RingCache(options as RingCacheOptions);
      if (!options.cache)
        cache.on('error', (err: unknown) => {
          // Only to a listener: an 'error' nobody listens for would end the application.
          if (this.listenerCount('error') > 0) this.emit('error', err);
        });
      this.#cache = Promise.resolve(cache);
    }
  }

  /** What Keyv reads to use this adapter directly, with absolute `expires` (its v6 contract). */
  get capabilities(): {
    compatible: boolean;
    store: 'keyvStorage';
    methods: Record<string, Method>;
    expires: boolean;
  } {
    this.#keyv6 = true;
    const names = [
      'get',
      'getMany',
      'has',
      'hasMany',
      'set',
      'setMany',
      'delete',
      'deleteMany',
      'clear',
      'disconnect',
    ];
    const methods: Record<string, Method> = { iterator: { exists: true, methodType: 'async' } };
    for (const n of names) methods[n] = { exists: true, methodType: 'async' };
    return { compatible: true, store: 'keyvStorage', methods, expires: true };
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    return (await this.#cache).get<Value>(this.#key(key));
  }

  async getMany<Value>(keys: string[]): Promise<(Value | undefined)[]> {
    return (await this.#cache).getMany<Value>(keys.map((k) => this.#key(k)));
  }

  async has(key: string): Promise<boolean> {
    return (await this.#cache).has(this.#key(key));
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    const cache = await this.#cache;
    return Promise.all(keys.map((k) => cache.has(this.#key(k))));
  }

  /** `expires`: absolute ms since the epoch (Keyv v6) or a TTL in ms (Keyv v5); unset: never expires. */
  async set(key: string, value: unknown, expires?: number): Promise<boolean> {
    const cache = await this.#cache;
    const ttl = ttlOf(expires);
    if (ttl === 'expired') {
      await cache.delete(this.#key(key));
      return true;
    }
    await cache.set(this.#key(key), value, { ttl });
    return true;
  }

  async setMany(entries: KeyvEntry[]): Promise<boolean[]> {
    return Promise.all(entries.map((e) => this.set(e.key, e.value, e.expires)));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#cache).delete(this.#key(key));
  }

  async deleteMany(keys: string[]): Promise<boolean[]> {
    return (await this.#cache).deleteMany(keys.map((k) => this.#key(k)));
  }

  /** Deletes every key of this namespace on every node (every key of the cluster without one). */
  async clear(): Promise<void> {
    if (!this.namespace && this.opts.noNamespaceAffectsAll !== true) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        "clear() without a namespace would delete every key of the cluster, not only this store's: " +
          "give Keyv a namespace (new Keyv({ store, namespace: 'app' })), or pass noNamespaceAffectsAll: true " +
          'to the adapter to delete everything',
      );
    }
    const prefix = this.namespace ? `${this.namespace}${this.namespaceSeparator}` : '';
    await (await this.#cache).flush({ prefix });
  }

  /**
   * [key, value] for every key of `namespace` (default: the adapter's; every key of the cluster
   * without one), each once, through RingCache.scan(): a page of keys at a time, their values read
   * in batches. Keys come as Keyv passed them (with Keyv 5's `namespace:` under Keyv 5). A key
   * deleted or expired after the scan listed it is left out.
   */
  async *iterator(namespace: string | undefined = this.namespace): AsyncGenerator<[string, unknown]> {
    const cache = await this.#cache;
    const prefix = namespace ? `${namespace}${this.namespaceSeparator}` : '';
    const keyv5 = namespace && !this.#keyv6 ? `${namespace}:` : '';
    let batch: string[] = [];
    const values = async function* (keys: string[]): AsyncGenerator<[string, unknown]> {
      const found = await cache.getMany(keys);
      for (const [i, value] of found.entries())
        if (value !== undefined) yield [keyv5 + keys[i]!.slice(prefix.length), value];
    };
    for await (const key of cache.scan({ prefix })) {
      batch.push(key);
      if (batch.length < ITERATOR_BATCH) continue;
      yield* values(batch);
      batch = [];
    }
    if (batch.length > 0) yield* values(batch);
  }

  /** Closes the client the adapter connected (one passed in stays open). */
  async disconnect(): Promise<void> {
    if (this.#owned) await (await this.#cache).close();
  }

  #key(key: string): string {
    const namespace = this.namespace;
    if (!namespace) return key;
    const keyv5 = `${namespace}:`;
    const bare = !this.#keyv6 && key.startsWith(keyv5) ? key.slice(keyv5.length) : key;
    return `${namespace}${this.namespaceSeparator}${bare}`;
  }
}

function ttlOf(expires: number | undefined): number | 'expired' {
  if (expires === undefined || !Number.isFinite(expires) || expires <= 0) return 0;
  if (expires <= MAX_TTL_MS) return Math.ceil(expires); // a relative TTL (Keyv v5)
  const left = expires - Date.now();
  return left <= 0 ? 'expired' : Math.ceil(left);
}
