import type { MemberUpdate, GossipTransport, MemberState } from './membership/types';
import type { PeerClient } from './peer-client';
import { MemberStateWire, type MemberUpdateMsg } from '../proto/messages';

/** A member state as the MemberState enum of cluster.proto. */
export const memberStateToWire: Record<MemberState, number> = {
  alive: MemberStateWire.ALIVE,
  suspect: MemberStateWire.SUSPECT,
  dead: MemberStateWire.DEAD,
  left: MemberStateWire.LEFT,
};
const fromWire = new Map<number, MemberState>(
  Object.entries(memberStateToWire).map(([s, n]) => [n, s as MemberState]),
);

export function updatesToWire(updates: MemberUpdate[]): MemberUpdateMsg[] {
  return updates.map((u) => ({ id: u.id, state: memberStateToWire[u.state], incarnation: u.incarnation }));
}

/** Updates from a peer; entries with a state we do not know are dropped. */
export function updatesFromWire(updates: MemberUpdateMsg[]): MemberUpdate[] {
  const out: MemberUpdate[] = [];
  for (const u of updates) {
    const state = fromWire.get(u.state);
    if (state) out.push({ id: u.id, state, incarnation: u.incarnation });
  }
  return out;
}

/**
 * Ring epochs ride on pings, so a member that missed a join or leave broadcast learns of it within a
 * probe round or two and fetches the newer ring from whoever has it.
 */
export interface RingEpochHooks {
  epoch: () => number;
  onNewerEpoch: (peer: string, epoch: number) => void;
}

/** SWIM's transport over the Peer service's Ping and PingReq RPCs. */
export class GrpcGossipTransport implements GossipTransport {
  readonly #selfId: string;
  readonly #peer: (id: string) => PeerClient;
  readonly #timeoutMs: number;

  readonly #ring: RingEpochHooks;

  constructor(selfId: string, peer: (id: string) => PeerClient, timeoutMs: number, ring: RingEpochHooks) {
    this.#selfId = selfId;
    this.#peer = peer;
    this.#timeoutMs = timeoutMs;
    this.#ring = ring;
  }

  async ping(target: string, updates: MemberUpdate[], signal: AbortSignal): Promise<MemberUpdate[]> {
    const call = this.#peer(target).ping(
      this.#selfId,
      updatesToWire(updates),
      this.#ring.epoch(),
      this.#timeoutMs,
    );
    const res = await abortable(call, signal);
    if ((res.ringEpoch ?? 0) > this.#ring.epoch()) this.#ring.onNewerEpoch(target, res.ringEpoch ?? 0);
    return updatesFromWire(res.updates);
  }

  async pingReq(
    via: string,
    target: string,
    updates: MemberUpdate[],
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    // The relay needs a full probe timeout of its own, so its deadline is twice ours.
    const res = await abortable(
      this.#peer(via).pingReq(this.#selfId, target, updatesToWire(updates), this.#timeoutMs * 2),
      signal,
    );
    return { ack: res.ack, updates: updatesFromWire(res.updates) };
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
