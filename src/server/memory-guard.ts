import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../observability/logger';

/**
 * Keeps a node's RSS near what its store accounts (issue 12 §6). Values live in the store's arena,
 * but each large request arrives in Buffers of its own (the gRPC message, its HTTP/2 chunks), and V8
 * frees such external memory only when it next collects, which a heap as small as the arena leaves
 * it rarely needs: with 1 MiB values a node at max_memory 256 MiB settled at 480 MiB RSS. So every
 * `intervalMs` the guard compares RSS with the budget and, past it, runs a full collection (cheap
 * here: the heap holds little besides the store's typed arrays), at most once per `minGapMs`.
 */
export interface MemoryGuardOptions {
  /** RSS above which a collection is run, in bytes. */
  budgetBytes: number;
  logger: Logger;
  intervalMs?: number;
  minGapMs?: number;
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
  readonly #opts: Required<MemoryGuardOptions>;
  #timer: NodeJS.Timeout | undefined;
  #gc: (() => void) | undefined;
  #lastGcAt = 0;
  /** Collections the guard ran: a metric. */
  collections = 0;

  constructor(opts: MemoryGuardOptions) {
    this.#opts = { intervalMs: 250, minGapMs: 500, ...opts };
  }

  start(): void {
    if (this.#timer) return;
    this.#gc = exposedGc();
    if (!this.#gc) {
      this.#opts.logger.warn('memory guard off: V8 gc() is not available in this runtime');
      return;
    }
    this.#timer = setInterval(() => this.#check(), this.#opts.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const now = Date.now();
    if (now - this.#lastGcAt < this.#opts.minGapMs) return;
    if (process.memoryUsage.rss() <= this.#opts.budgetBytes) return;
    this.#lastGcAt = now;
    this.collections++;
    this.#gc?.();
  }
}
