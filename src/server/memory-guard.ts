import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../observability/logger';

/**
 * Keeps a node's RSS within its budget (issue 12 §6). Values live in the store's arena, but each
 * large request arrives in Buffers of its own (the gRPC message, its HTTP/2 chunks), and V8 frees
 * such external memory only when it next collects, which a heap as small as the arena leaves it
 * rarely needs: with 1 MiB values a node at max_memory 256 MiB settled at 480 MiB RSS. So every
 * `intervalMs` the guard compares RSS with the target:
 * - above it, it runs a full collection (cheap here: the heap holds little besides the store's typed
 *   arrays), at most once per `minGapMs`;
 * - still above it right after one, what the process needs beyond the store does not fit: the store
 *   is asked to hold that much less (`setPressure`, at most half of max_memory);
 * - while the store holds less, the pressure is given back step by step once RSS is well below the
 *   target (90%). A burst's garbage can keep RSS above that with no allocation to make V8 collect
 *   it, so the guard collects then too, at most once per `reclaimGapMs`: otherwise the store kept
 *   holding a quarter less for good after one burst of 1 MiB values.
 */
export interface MemoryGuardOptions {
  /** RSS the node should stay within, in bytes. */
  targetBytes: number;
  /** Tells the store how many bytes below max_memory to stay. */
  setPressure?: (bytes: number) => void;
  /** Most pressure asked for (half of max_memory). */
  maxPressureBytes?: number;
  logger: Logger;
  intervalMs?: number;
  minGapMs?: number;
  /** Least time between collections run only to give pressure back. */
  reclaimGapMs?: number;
  /** The process's RSS (tests give their own). */
  readRss?: () => number;
  /** A full collection; undefined where V8's gc() is not available (tests give their own). */
  collect?: () => void;
}

/** The target for a store of `maxMemoryBytes`: 1.3 x, but never less than 80 MiB above it. */
export function rssTargetOf(maxMemoryBytes: number): number {
  return Math.max(maxMemoryBytes * 1.3, maxMemoryBytes + 80 * 1024 * 1024);
}

/** V8's gc(), without --expose-gc on the command line: the flag set at run time, read from a context. */
export function exposedGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export class MemoryGuard {
  readonly #opts: Required<Omit<MemoryGuardOptions, 'setPressure' | 'collect'>> &
    Pick<MemoryGuardOptions, 'setPressure' | 'collect'>;

  #timer: NodeJS.Timeout | undefined;
  #gc: (() => void) | undefined;
  #lastGcAt = 0;
  #lastReclaimAt = 0;
  /** Collections the guard ran: a metric. */
  collections = 0;
  /** Bytes the store is asked to stay below max_memory: a metric. */
  pressureBytes = 0;

  constructor(opts: MemoryGuardOptions) {
    this.#opts = {
      intervalMs: 250,
      minGapMs: 500,
      reclaimGapMs: 2000,
      maxPressureBytes: Infinity,
      readRss: () => process.memoryUsage.rss(),
      ...opts,
    };
  }

  start(): void {
    if (this.#timer) return;
    this.#gc = 'collect' in this.#opts ? this.#opts.collect : exposedGc();
    if (!this.#gc)
      this.#opts.logger.warn('memory guard: V8 gc() is not available; it only adjusts the store');
    this.#timer = setInterval(() => this.#check(), this.#opts.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const target = this.#opts.targetBytes;
    let rss = this.#opts.readRss();
    const now = Date.now();
    if (rss <= target) {
      if (this.pressureBytes === 0) return;
      if (rss >= target * 0.9 && this.#gc && now - this.#lastReclaimAt >= this.#opts.reclaimGapMs) {
        this.#lastReclaimAt = now;
        this.#collect();
        rss = this.#opts.readRss();
      }
      // Well below: give the store back a step of what it was asked to hold less.
      if (rss < target * 0.9) this.#pressure(this.pressureBytes - target * 0.02);
      return;
    }
    if (now - this.#lastGcAt < this.#opts.minGapMs) return;
    this.#lastGcAt = now;
    if (this.#gc) {
      this.#collect();
      rss = this.#opts.readRss();
    }
    if (rss > target) this.#pressure(this.pressureBytes + (rss - target));
  }

  #collect(): void {
    this.collections++;
    this.#gc!();
  }

  #pressure(bytes: number): void {
    const next = Math.min(this.#opts.maxPressureBytes, Math.max(0, Math.round(bytes)));
    if (next === this.pressureBytes) return;
    if (next > this.pressureBytes) {
      this.#opts.logger.info(
        { pressureBytes: next, targetBytes: this.#opts.targetBytes },
        'RSS above its target after a collection: the store holds less',
      );
    }
    this.pressureBytes = next;
    this.#opts.setPressure?.(next);
  }
}
