import { EventEmitter } from 'node:events';
import type { RingCacheOptions } from '../client/options';
import { RingCache } from '../client/ring-cache';
import { RingCacheError } from '../errors';

/** ringcache's longest TTL (10 years, in ms): a larger `expires` can only be an absolute time. */
const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export interface KeyvRingCacheOptions extends Partial<RingCacheOptions> {
  /** A client to use (the adapter does not close it); else one is connected to `seeds`. */
  cache?: RingCache;
  /** Keys are stored as `namespace::key`; Keyv sets it from its own `namespace` option. */
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
 * `clear()` deletes the keys of its namespace on every node (Cluster/Flush with the namespace as
 * prefix), so it needs the cluster's secret. Without a namespace it is refused, unless
 * `noNamespaceAffectsAll` says to delete every key of the cluster.
 */
export class KeyvRingCache extends EventEmitter {
  namespace: string | undefined;
  readonly namespaceSeparator = '::';
  /** The options it was made with, as Keyv adapters expose them (Keyv's own tests set fields on it). */
  readonly opts: Record<string, unknown>;
  readonly #cache: Promise<RingCache>;
  readonly #owned: boolean;

  constructor(options: KeyvRingCacheOptions | RingCache) {
    super();
    this.opts = options instanceof RingCache ? {} : { ...options };
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
    const methods: Record<string, Method> = { iterator: { exists: false, methodType: 'none' } };
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

  /** Closes the client the adapter connected (one passed in stays open). */
  async disconnect(): Promise<void> {
    if (this.#owned) await (await this.#cache).close();
  }

  #key(key: string): string {
    return this.namespace ? `${this.namespace}${this.namespaceSeparator}${key}` : key;
  }
}

function ttlOf(expires: number | undefined): number | 'expired' {
  if (expires === undefined || !Number.isFinite(expires) || expires <= 0) return 0;
  if (expires <= MAX_TTL_MS) return Math.ceil(expires); // a relative TTL (Keyv v5)
  const left = expires - Date.now();
  return left <= 0 ? 'expired' : Math.ceil(left);
}
