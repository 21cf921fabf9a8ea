import type { PeerTransport } from '../peer-transport';
import type { GossipTransport, MemberUpdate } from './types';

/**
 * Ring epochs and digests ride on pings, so a member that missed a join or leave broadcast, or that
 * was on the other side of a partition, learns of it within a probe round or two and exchanges
 * rings with whoever has another one.
 */
export interface RingEpochHooks {
  epoch: () => number;
  digest: () => number;
  onRingSeen: (peer: string, epoch: number, digest: number) => void;
  /** This node's HLC, sent on every ping, and what to do with a peer's (advance ours past it). */
  clock?: () => number;
  onPeerClock?: (peer: string, clock: number) => void;
  /** This node's wall clock, read when a ping is sent and when its ack comes back. */
  now?: () => number;
  /** A peer's wall clock from its ack, with when the ping was sent and acknowledged (clock-watch.ts). */
  onPeerWallClock?: (peer: string, sentAtMs: number, ackedAtMs: number, peerWallMs: number) => void;
}

/** SWIM's transport over the node's PeerTransport: pings carry the ring epoch both ways. */
export class PeerGossip implements GossipTransport {
  readonly #selfId: string;
  readonly #transport: PeerTransport;
  readonly #timeoutMs: number;
  readonly #ring: RingEpochHooks;

  constructor(selfId: string, transport: PeerTransport, timeoutMs: number, ring: RingEpochHooks) {
    this.#selfId = selfId;
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
    this.#ring = ring;
  }

  async ping(target: string, updates: MemberUpdate[], signal: AbortSignal): Promise<MemberUpdate[]> {
    const ping = {
      from: this.#selfId,
      updates,
      ringEpoch: this.#ring.epoch(),
      ringDigest: this.#ring.digest(),
      clock: this.#ring.clock?.() ?? 0,
    };
    const sentAtMs = this.#ring.now?.() ?? 0;
    const reply = await this.#transport.ping(target, ping, this.#timeoutMs, signal);
    if (reply.wallClockMs && this.#ring.now)
      this.#ring.onPeerWallClock?.(target, sentAtMs, this.#ring.now(), reply.wallClockMs);
    this.#ring.onRingSeen(target, reply.ringEpoch, reply.ringDigest ?? 0);
    if (reply.clock) this.#ring.onPeerClock?.(target, reply.clock);
    return reply.updates;
  }

  pingReq(
    via: string,
    target: string,
    updates: MemberUpdate[],
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    const ping = {
      from: this.#selfId,
      updates,
      ringEpoch: this.#ring.epoch(),
      ringDigest: this.#ring.digest(),
    };
    // The relay needs a full probe timeout of its own, so its deadline is twice ours.
    return this.#transport.pingReq(via, target, ping, this.#timeoutMs * 2, signal);
  }
}
