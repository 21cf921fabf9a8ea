import type { GetOrSetOptions } from './get-or-set';
import type { ScanOptions } from './key-scan';
import type { CacheEntry, CallOptions, SetManyEntry, SetOptions, Version } from './options';

/**
 * A RingCache whose values are all of type `T` (`cache.typed<User>()`): the compiler then refuses a
 * value of another shape where one is written, and reads come back typed. It is the same client, so
 * it costs nothing; it does not check what other writers stored under the same keys.
 */
export interface TypedRingCache<T> {
  get(key: string, opts?: CallOptions): Promise<T | undefined>;
  getEntry(key: string, opts?: CallOptions): Promise<CacheEntry<T> | undefined>;
  getMany(keys: readonly string[], opts?: CallOptions): Promise<(T | undefined)[]>;
  set(key: string, value: T, opts?: SetOptions): Promise<boolean>;
  setMany(entries: readonly SetManyEntry<T>[], opts?: SetOptions): Promise<boolean[]>;
  cas(key: string, expected: Version, value: T, opts?: SetOptions): Promise<Version>;
  getOrSet(key: string, fill: () => T | Promise<T>, opts?: GetOrSetOptions): Promise<T>;
  has(key: string, opts?: CallOptions): Promise<boolean>;
  delete(key: string, opts?: CallOptions): Promise<boolean>;
  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<boolean[]>;
  touch(key: string, ttl: number, opts?: CallOptions): Promise<boolean>;
  ttl(key: string, opts?: CallOptions): Promise<number | null | undefined>;
  scan(opts?: ScanOptions): AsyncIterableIterator<string>;
}
