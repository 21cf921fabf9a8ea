import { createHash, randomBytes } from 'node:crypto';
import { RingCacheError } from '../errors';
import type { CacheEntry, CallOptions, SetOptions } from './options';

export interface GetOrSetOptions extends CallOptions {
  /** Time to live of the value `fill` makes, in milliseconds; unset or 0: never expires. */
  ttl?: number;
  /**
   * Milliseconds past `ttl` during which the old value is still served while one caller refreshes it
   * in the background (stale-while-revalidate). The value is stored for ttl + staleWhileRevalidate.
   */
  staleWhileRevalidate?: number;
  /**
   * How long the caller that won the right to fill holds it, in milliseconds. A holder that dies
   * loses it after this long and another caller fills. Default 10000: give `fill` time to finish.
   */
  leaseMs?: number;
  /** Most milliseconds a caller waits for another's fill before failing DEADLINE_EXCEEDED. Default leaseMs x 2. */
  waitMs?: number;
}

/** What get-or-set needs of the client: plain calls, which the SDK batches per node. */
export interface FillTarget {
  getEntry<T>(key: string, opts?: CallOptions): Promise<CacheEntry<T> | undefined>;
  get<T>(key: string, opts?: CallOptions): Promise<T | undefined>;
  set(key: string, value: unknown, opts?: SetOptions): Promise<boolean>;
  delete(key: string, opts?: CallOptions): Promise<boolean>;
}

/** Polls of a waiting caller: 5 ms at first, doubling up to 50 ms. */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;
/** How long a fill's error stays readable by the callers waiting for that fill. */
const ERROR_TTL_MS = 5000;
/** Keys longer than this (in UTF-8 bytes) name their lease and error by a hash. */
const READABLE_KEY_BYTES = 64;

/**
 * The keys of `key`'s lease and of its fill's error: `<key>\0lease` and `<key>\0error`, readable in
 * `ringcache explain` and flushed with the key's prefix. A key over 64 bytes gets its SHA-256 in its
 * place, so that a key as long as limits.max_key_bytes allows still has room for the suffix (those
 * two are outside the key's prefix: a flush leaves them to their TTLs, a lease's and 5 s).
 */
export function fillKeysOf(key: string): { lease: string; error: string } {
  const base =
    Buffer.byteLength(key, 'utf8') <= READABLE_KEY_BYTES
      ? key
      : `\0getOrSet:${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
  return { lease: `${base}\0lease`, error: `${base}\0error` };
}

/**
 * getOrSet with stampede protection across processes. On a miss exactly one caller in
 * the whole cluster runs `fill`: the right to fill is a lease, the key `<key>\0lease` (fillKeysOf) written
 * ifAbsent with the lease's TTL. A conditional set is a read-modify-write, decided once by that key's
 * coordinator in a CASPaxos round (cluster/replication/read-modify-write.ts), so of any number of
 * callers in any number of processes one wins, and a lease outlives a coordinator's crash. The
 * winner fills, stores the value and drops the lease; the others poll (5-50 ms) until the value is
 * there, the fill's error is (`<key>\0error`, naming the lease it belongs to, so a later caller is
 * not failed by an old error), or the lease is gone (its holder died: they try to win it).
 * Calls in one process for one key share one such attempt before anything leaves the process.
 *
 * With staleWhileRevalidate, a value in its last staleWhileRevalidate ms is served at once, and the
 * caller that wins the lease refreshes it in the background.
 */
export class GetOrSet {
  readonly #cache: FillTarget;
  /** In-process single flight: one attempt per key, shared by every concurrent caller. */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  /** Background refreshes of stale values running in this process, by key. */
  readonly #refreshing = new Set<string>();

  constructor(cache: FillTarget) {
    this.#cache = cache;
  }

  run<T>(key: string, fill: () => T | Promise<T>, opts: GetOrSetOptions = {}): Promise<T> {
    const shared = this.#inFlight.get(key);
    if (shared) return shared as Promise<T>;
    const attempt = this.#attempt(key, fill, opts).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, attempt);
    return attempt;
  }

  async #attempt<T>(key: string, fill: () => T | Promise<T>, opts: GetOrSetOptions): Promise<T> {
    const leaseMs = opts.leaseMs ?? 10_000;
    const deadline = Date.now() + (opts.waitMs ?? leaseMs * 2);
    const call: CallOptions = { timeoutMs: opts.timeoutMs, consistency: opts.consistency };
    const { lease: leaseKey, error: errorKey } = fillKeysOf(key);
    let pollMs = FIRST_POLL_MS;
    let waitingFor: string | undefined; // the lease token of the fill this caller waits for
    for (;;) {
      const entry = await this.#cache.getEntry<T>(key, call);
      if (entry) {
        const swr = opts.staleWhileRevalidate ?? 0;
        if (swr > 0 && entry.ttlMs > 0 && entry.ttlMs <= swr) this.#refresh(key, fill, opts, leaseMs);
        return entry.value;
      }
      // The fill this caller waits for failed: so does this call (checked before the lease, which
      // its holder drops when it fails).
      const failed = waitingFor === undefined ? undefined : await this.#failure(errorKey, waitingFor, call);
      if (failed) throw this.#failedError(key, failed);
      if (waitingFor === undefined || !(await this.#cache.get<string>(leaseKey, call))) {
        const token = randomBytes(9).toString('base64url');
        if (await this.#cache.set(leaseKey, token, { ...call, mode: 'ifAbsent', ttl: leaseMs })) {
          // The lease may be free because its holder just stored the value and let go: look again.
          const filled = await this.#cache.getEntry<T>(key, call);
          if (filled) {
            await this.#release(leaseKey, token, call);
            return filled.value;
          }
          // Or because it failed, between this caller's two looks: that failure is this call's too.
          const late = waitingFor === undefined ? undefined : await this.#failure(errorKey, waitingFor, call);
          if (late) {
            await this.#release(leaseKey, token, call);
            throw this.#failedError(key, late);
          }
          return this.#fill(key, fill, opts, token, call);
        }
        waitingFor = await this.#cache.get<string>(leaseKey, call);
      }
      if (Date.now() + pollMs > deadline) {
        throw new RingCacheError(
          'DEADLINE_EXCEEDED',
          `getOrSet of '${key}': waited ${opts.waitMs ?? leaseMs * 2} ms for another caller's fill`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
      pollMs = Math.min(MAX_POLL_MS, pollMs * 2);
    }
  }

  /** The message of the failed fill of lease `lease`, if that is what the error key holds. */
  async #failure(errorKey: string, lease: string, call: CallOptions): Promise<string | undefined> {
    const failed = await this.#cache.get<{ lease: string; message: string }>(errorKey, call);
    return failed?.lease === lease ? failed.message : undefined;
  }

  #failedError(key: string, message: string): RingCacheError {
    return new RingCacheError(
      'ABORTED',
      `getOrSet of '${key}': the fill in another caller failed: ${message}`,
    );
  }

  /** This caller holds the lease: fill, store, release; a failed fill is told to the waiters. */
  async #fill<T>(
    key: string,
    fill: () => T | Promise<T>,
    opts: GetOrSetOptions,
    token: string,
    call: CallOptions,
  ): Promise<T> {
    const { lease: leaseKey, error: errorKey } = fillKeysOf(key);
    let value: T;
    try {
      value = await fill();
      // undefined is "absent" to get(): it cannot be stored, so it is a failed fill, told to the
      // waiters and the lease released at once. null is a value, and is cached like any other.
      if (value === undefined) {
        throw new RingCacheError(
          'INVALID_ARGUMENT',
          `getOrSet of '${key}': the fill returned undefined, which cannot be cached; return null to cache "no value"`,
        );
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.#cache.set(errorKey, { lease: token, message }, { ...call, ttl: ERROR_TTL_MS });
      await this.#release(leaseKey, token, call);
      throw err;
    }
    const ttl = opts.ttl ?? 0;
    await this.#cache.set(key, value, { ...call, ttl: ttl > 0 ? ttl + (opts.staleWhileRevalidate ?? 0) : 0 });
    await this.#release(leaseKey, token, call);
    return value;
  }

  /** Drops the lease if it is still this caller's (one that expired may be another's by now). */
  async #release(leaseKey: string, token: string, call: CallOptions): Promise<void> {
    if ((await this.#cache.get<string>(leaseKey, call)) === token) await this.#cache.delete(leaseKey, call);
  }

  /** A stale value was served: refresh it in the background if this caller wins the lease. */
  #refresh<T>(key: string, fill: () => T | Promise<T>, opts: GetOrSetOptions, leaseMs: number): void {
    if (this.#refreshing.has(key)) return;
    this.#refreshing.add(key);
    const call: CallOptions = { timeoutMs: opts.timeoutMs, consistency: opts.consistency };
    const token = randomBytes(9).toString('base64url');
    void this.#cache
      .set(fillKeysOf(key).lease, token, { ...call, mode: 'ifAbsent', ttl: leaseMs })
      .then((won) => (won ? this.#fill(key, fill, opts, token, call) : undefined))
      .catch(() => undefined) // the stale value was served; the next caller tries again
      .finally(() => this.#refreshing.delete(key));
  }
}
