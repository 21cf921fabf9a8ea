/**
 * One node's wall clock as seen from this process, measured from the clock the node puts at the end
 * of each reply (see src/proto/packed.ts). A frame is sent at local time t0 and its reply, carrying
 * the node's clock w, comes back at t1: the node read w between t0 and t1, so its offset is
 * w - (t0 + t1) / 2, give or take half the round trip. Of the last few samples the one with the
 * shortest round trip is believed (a reply delayed by a busy event loop says little). The same
 * method as the nodes' own gossip clock monitor, for one node; the transport cannot import the core.
 */
export class NodeClock {
  /** Recent samples as [offsetMs, errorMs], oldest first. */
  readonly #samples: [number, number][] = [];

  constructor(readonly windowSize = 5) {}

  /** A reply to a frame sent at `sentAtMs` came back at `repliedAtMs` with the node's `nodeClockMs`. */
  record(sentAtMs: number, repliedAtMs: number, nodeClockMs: number): void {
    if (!(repliedAtMs >= sentAtMs)) return; // this clock stepped back: the sample means nothing
    const errorMs = (repliedAtMs - sentAtMs) / 2;
    const offsetMs = nodeClockMs - (sentAtMs + errorMs);
    // Samples whose offset range does not meet this one's came before a clock stepped: dropped, or
    // a precise one from before the step would be believed until it aged out.
    const stale = ([o, e]: [number, number]) => Math.abs(o - offsetMs) > e + errorMs;
    if (this.#samples.some(stale)) {
      const kept = this.#samples.filter((s) => !stale(s));
      this.#samples.length = 0;
      this.#samples.push(...kept);
    }
    this.#samples.push([offsetMs, errorMs]);
    if (this.#samples.length > this.windowSize) this.#samples.shift();
  }

  /** Forgets every sample: the next answer may come from another process. */
  reset(): void {
    this.#samples.length = 0;
  }

  /**
   * The last instant, in the node's clock, surely not after `localMs` in this process's clock: the
   * offset less its error. Undefined before the first sample.
   */
  noLaterThan(localMs: number): number | undefined {
    let best: [number, number] | undefined;
    for (const s of this.#samples) if (!best || s[1] < best[1]) best = s;
    return best && Math.floor(localMs + best[0] - best[1]);
  }
}
