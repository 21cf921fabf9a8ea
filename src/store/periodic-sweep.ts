/**
 * Runs the store's sweep every intervalMs as a setTimeout chain (never overlapping, unlike
 * setInterval when a tick runs long) on an unref'd timer, so an idle store never keeps the process up.
 */
export class PeriodicSweep {
  readonly #intervalMs: number;
  readonly #tick: () => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(intervalMs: number, tick: () => void) {
    this.#intervalMs = intervalMs;
    this.#tick = tick;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running) return;
      try {
        this.#tick();
      } finally {
        // Re-armed even if the tick threw (a bug, left to crash loudly), so a later start() is not needed.
        if (this.#running) this.#arm();
      }
    }, this.#intervalMs);
    this.#timer.unref();
  }
}
