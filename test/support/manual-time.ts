import { expect } from 'chai';
import type { Scheduler } from '../../src/cluster/membership/types';

/**
 * Time that moves only when a test says: advance() runs the timers that come due, in order;
 * spend() is time passing inside a timer's work (a collection that takes a while). For synchronous
 * timers only: no promise settles between two of them.
 */
export class ManualTime implements Scheduler {
  ms = 1_000_000;
  #seq = 0;
  readonly #timers = new Map<number, { atMs: number; fn: () => void }>();

  now(): number {
    return this.ms;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { atMs: this.ms + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  spend(ms: number): void {
    this.ms += ms;
  }

  advance(ms: number): void {
    const untilMs = this.ms + ms;
    for (;;) {
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].atMs <= untilMs && (!next || entry[1].atMs < next[1].atMs)) next = entry;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.ms = Math.max(this.ms, next[1].atMs);
      next[1].fn();
    }
    this.ms = Math.max(this.ms, untilMs);
  }

  /** Advances step by step (`stepMs`) until `done`, failing if it takes more than `maxMs` of this time. */
  advanceUntil(what: string, done: () => boolean, stepMs: number, maxMs = 10_000): void {
    for (let spent = 0; !done(); spent += stepMs) {
      if (spent > maxMs) expect.fail(`${what}: not reached within ${maxMs} ms of this time`);
      this.advance(stepMs);
    }
  }
}
