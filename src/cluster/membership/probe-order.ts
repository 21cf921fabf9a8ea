/**
 * SWIM's round-robin probe target selection: walk a shuffled list of the other members and reshuffle
 * at the end of each pass, so every member is probed once per round (bounded detection time) while
 * the order stays unpredictable (no two members probing in lockstep). memberlist does the same in
 * `probe()` / `resetNodes()`.
 */
export class ProbeOrder {
  readonly #random: () => number;
  #order: string[] = [];
  #index = 0;

  constructor(random: () => number) {
    this.#random = random;
  }

  /**
   * The next member to probe among `candidates` (already filtered: not self, not dead, not left),
   * or undefined when there is none. A member that joined mid-round waits for the next round;
   * one that is no longer a candidate is skipped.
   */
  next(candidates: readonly string[]): string | undefined {
    if (candidates.length === 0) return undefined;
    const allowed = new Set(candidates);
    for (let pass = 0; pass < 2; pass++) {
      while (this.#index < this.#order.length) {
        const id = this.#order[this.#index++];
        if (id !== undefined && allowed.has(id)) return id;
      }
      this.#order = shuffle([...candidates].sort(), this.#random);
      this.#index = 0;
    }
    return undefined;
  }
}

/** Fisher-Yates with the injected random, so tests get a reproducible order. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

/** Up to `k` distinct members of `candidates` picked at random (indirect probe relays). */
export function pickRandom(candidates: readonly string[], k: number, random: () => number): string[] {
  return shuffle([...candidates], random).slice(0, Math.max(0, k));
}
