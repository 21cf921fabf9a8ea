/**
 * The node part of a flush's tombstones' version, (fence + 1, FLUSH_VERSION_NODE): the same on every
 * member, and below every node id (they are made of letters, digits, '_', '.' and '-'), so that a
 * write made at fence + 1 by any node, after the flush, is newer than them.
 */
export const FLUSH_VERSION_NODE = '(flush)';

/** Fences kept at once; past it the one that ends first is dropped. */
export const MAX_FLUSH_FENCES = 1024;

interface Fence {
  /** Records under the prefix at a hybrid clock timestamp up to this one are older than the flush. */
  upTo: number;
  /** Wall-clock ms after which the fence is gone (a tombstone grace after the flush). */
  untilMs: number;
}

/**
 * What a flush leaves behind on a node: per prefix, the hybrid clock reading that every write the
 * flush deleted was made at or before. A copy of such a write still on its way (a replica write
 * acknowledged by fewer than all replicas, a hint, anti-entropy, read repair, a rebalance) would
 * otherwise land after the flush on a node that held no tombstone for its key, and be read again.
 * A fence is a tombstone for every key under its prefix at once, kept as long as a tombstone is
 * (`tombstone_grace_ms`), after which no such copy can still be about (hints and release send
 * nothing older than the grace).
 *
 * Costs nothing while no fence is held; then one prefix test per fence for each record from a peer.
 */
export class FlushFences {
  readonly #fences = new Map<string, Fence>();

  get size(): number {
    return this.#fences.size;
  }

  /** Keeps (prefix, upTo) until `untilMs`; a fence already on the prefix keeps the higher of both. */
  add(prefix: string, upTo: number, untilMs: number): void {
    const held = this.#fences.get(prefix);
    if (held) {
      held.upTo = Math.max(held.upTo, upTo);
      held.untilMs = Math.max(held.untilMs, untilMs);
      return;
    }
    if (this.#fences.size >= MAX_FLUSH_FENCES) this.#dropFirstToEnd();
    this.#fences.set(prefix, { upTo, untilMs });
  }

  /** Whether a record of `key` at `timestamp` is older than a flush of a prefix of `key` still fenced at `nowMs`. */
  covers(key: string, timestamp: number, nowMs: number): boolean {
    for (const [prefix, fence] of this.#fences) {
      if (fence.untilMs <= nowMs) {
        this.#fences.delete(prefix);
        continue;
      }
      if (timestamp <= fence.upTo && key.startsWith(prefix)) return true;
    }
    return false;
  }

  #dropFirstToEnd(): void {
    let first: string | undefined;
    let firstUntil = Infinity;
    for (const [prefix, fence] of this.#fences) {
      if (fence.untilMs < firstUntil) [first, firstUntil] = [prefix, fence.untilMs];
    }
    if (first !== undefined) this.#fences.delete(first);
  }
}
