import { RingCacheError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { ClockOffsets, judgeClock, type ClockVerdict } from './clock-offsets';

export interface ClockWatchOptions {
  selfId: string;
  /** cluster.max_clock_offset_ms. */
  maxClockOffsetMs: number;
  /** The members other than this node worth asking (alive or suspect), now. */
  livePeers: () => readonly string[];
  logger: Logger;
}

/**
 * Whether this node's clock may issue versions: its measured offsets to its peers (clock-offsets.ts),
 * judged again after each sample and each membership change, never per operation. Writes read one
 * field, `refusal`: undefined while the clock is within the bound, else the error to answer with.
 *
 * Why refuse: a write's version is its coordinator's clock. A node whose clock runs d ahead makes
 * versions that win over writes other nodes make up to d later, so a later acknowledged write of
 * the same key could be replaced by an earlier one. The tolerance is half of max_clock_offset_ms
 * from more than half of the live peers, so that any two nodes taking writes are within the whole
 * bound of each other: if neither is within half the bound of the other, the peers each is within
 * half the bound of (at least half of its live peers) overlap in some node M, and both are within
 * half the bound of M. (With the whole bound against the majority, two nodes on either side of the
 * others could be twice the bound apart.) The answer is UNAVAILABLE, which the SDK
 * and the nodes' own forwarding take as "this node cannot serve it, try another replica"; nothing
 * was applied, so a retry elsewhere is safe. Reads are still served.
 */
export class ClockWatch {
  readonly offsets = new ClockOffsets();
  readonly #opts: ClockWatchOptions;
  readonly #log: Logger;
  #refusal: RingCacheError | undefined;
  readonly #listeners: Array<(inBounds: boolean) => void> = [];

  constructor(opts: ClockWatchOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
  }

  /** The error a write gets while this node's clock is out of bounds; undefined otherwise. */
  get refusal(): RingCacheError | undefined {
    return this.#refusal;
  }

  get inBounds(): boolean {
    return this.#refusal === undefined;
  }

  /** Called with the new state whenever this node's clock goes out of bounds or comes back. */
  onChange(listener: (inBounds: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** A ping to `peer` sent at `sentAtMs`, acknowledged at `ackedAtMs`, carrying its wall clock. */
  sampled(peer: string, sentAtMs: number, ackedAtMs: number, peerWallMs: number): void {
    if (this.offsets.record(peer, sentAtMs, ackedAtMs, peerWallMs)) this.judge();
  }

  /** A peer died or left: its samples go (its clock may be set right before it comes back). */
  forget(peer: string): void {
    this.offsets.forget(peer);
    this.judge();
  }

  /** Judges the clock again (after a sample or a membership change). */
  judge(): void {
    const verdict = judgeClock(
      this.#opts.livePeers(),
      (p) => this.offsets.estimate(p),
      this.#opts.maxClockOffsetMs / 2,
    );
    const was = this.#refusal !== undefined;
    this.#refusal = verdict.outOfBounds ? this.#refusalOf(verdict) : undefined;
    if (was === verdict.outOfBounds) return;
    const beyond = verdict.beyond.map((b) => ({ peer: b.peer, offsetMs: Math.round(b.offsetMs) }));
    if (verdict.outOfBounds) {
      this.#log.warn(
        { beyond, livePeers: verdict.livePeers, maxClockOffsetMs: this.#opts.maxClockOffsetMs },
        'clock too far from most live members: refusing writes and reporting not serving until it is back within half of cluster.max_clock_offset_ms',
      );
    } else {
      this.#log.warn(
        { livePeers: verdict.livePeers, maxClockOffsetMs: this.#opts.maxClockOffsetMs },
        'clock back within half of cluster.max_clock_offset_ms of most live members: serving writes again',
      );
    }
    for (const listener of this.#listeners) {
      try {
        listener(!verdict.outOfBounds);
      } catch (err) {
        this.#log.error({ err }, 'clock state listener failed');
      }
    }
  }

  #refusalOf(verdict: ClockVerdict): RingCacheError {
    const offsets = verdict.beyond
      .map(
        (b) => `${b.peer} ${b.offsetMs > 0 ? '+' : ''}${Math.round(b.offsetMs)} ms ±${Math.ceil(b.errorMs)}`,
      )
      .join(', ');
    return new RingCacheError(
      'UNAVAILABLE',
      `node ${this.#opts.selfId} refuses writes: its clock is further than half of cluster.max_clock_offset_ms ` +
        `(${this.#opts.maxClockOffsetMs} ms) from ${verdict.beyond.length} of its ${verdict.livePeers} live peers ` +
        `(peer clocks relative to this one: ${offsets}); try another node, and fix this node's time sync`,
    );
  }
}
