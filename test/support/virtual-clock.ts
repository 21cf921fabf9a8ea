import type { StreamClock } from '../../src/transport/batched-stream';

/** Timers on a clock that moves only when the test says. */
export class VirtualClock implements StreamClock {
  #now = 1_000_000;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 1;
  now = (): number => this.#now;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#nextId++;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };
  /** Moves time on by `ms`, running each timer due on the way (and the promises it settles). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flush();
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
    }
    this.#now = end;
    await flush();
  }
}

/** Lets every settled promise's callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
