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
 *   is asked to hold that much less (`setPressure`, at most half of max_memory), and is given it back
 *   step by step once RSS is well below the target again.
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
}

/** The target for a store of `maxMemoryBytes`: 1.3 x, but never less than 80 MiB above it. */
export function rssTargetOf(maxMemoryBytes: number): number {
  return Math.max(maxMemoryBytes * 1.3, maxMemoryBytes + 80 * 1024 * 1024);
}

/** V8's gc(), without --expose-gc on the command line: the flag set at run time, read from a context. */
function exposedGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export class MemoryGuard {
  readonly #opts: Required<Omit<MemoryGuardOptions, 'setPressure'>> & Pick<MemoryGuardOptions, 'setPressure'>;

  #timer: NodeJS.Timeout | undefined;
  #gc: (() => void) | undefined;
  #lastGcAt = 0;
  /** Collections the guard ran: a metric. */
  collections = 0;
  /** Bytes the store is asked to stay below max_memory: a metric. */
  pressureBytes = 0;

  constructor(opts: MemoryGuardOptions) {
    this.#opts = { intervalMs: 250, minGapMs: 500, maxPressureBytes: Infinity, ...opts };
  }

  start(): void {
    if (this.#timer) return;
    this.#gc = exposedGc();
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
    let rss = process.memoryUsage.rss();
    if (rss <= target) {
      // Well below: give the store back a step of what it was asked to hold less.
      if (this.pressureBytes > 0 && rss < target * 0.9) this.#pressure(this.pressureBytes - target * 0.02);
      return;
    }
    const now = Date.now();
    if (now - this.#lastGcAt < this.#opts.minGapMs) return;
    this.#lastGcAt = now;
    if (this.#gc) {
      this.collections++;
      this.#gc();
      rss = process.memoryUsage.rss();
    }
    if (rss > target) this.#pressure(this.pressureBytes + (rss - target));
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
