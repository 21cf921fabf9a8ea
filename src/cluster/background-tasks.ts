import type { Logger } from '../observability/logger';

/**
 * The long jobs a node runs beside its traffic (catch-up, rebalance, release): each gets the one
 * AbortSignal that the node's stop() aborts, and stop() awaits them all, so a node stopped in the
 * middle of one leaves no promise, stream or timer behind. A failed task is logged, never thrown.
 */
export class BackgroundTasks {
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();

  constructor(logger: Logger) {
    this.#log = logger;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Tasks started and not yet settled. */
  get size(): number {
    return this.#running.size;
  }

  run(name: string, task: (signal: AbortSignal) => Promise<unknown>): void {
    if (this.#abort.signal.aborted) return;
    const settled = task(this.#abort.signal).then(
      () => undefined,
      (err: unknown) => this.#log.error({ err, task: name }, 'background task failed'),
    );
    this.#running.add(settled);
    void settled.finally(() => this.#running.delete(settled));
  }

  /** Aborts every task; `settled()` then waits for them to notice. */
  abort(): void {
    this.#abort.abort();
  }

  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
