import type { MemberState, MemberUpdate } from '../cluster/membership/types';
import type { RingState } from '../cluster/ring-change/topology';
import { MemberStateWire, type MemberUpdateMsg, type RingStateMsg } from '../proto/messages';

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

/** A ring as Peer.ApplyRing carries it (member states travel by gossip, not here). */
export function ringToWire(ring: RingState): RingStateMsg {
  return {
    epoch: ring.epoch,
    members: ring.members.map((m) => ({
      id: m.id,
      address: m.address,
      httpAddress: m.http,
      state: 0,
      incarnation: 0,
      sinceEpoch: m.since,
    })),
    departed: ring.departed.map((d) => ({ id: d.id, epoch: d.since })),
  };
}

/** A peer's ring; a member without since_epoch (an older peer) counts as from cluster.yml. */
export function ringFromWire(msg: RingStateMsg): RingState {
  return {
    epoch: msg.epoch,
    members: msg.members.map((m) => ({
      id: m.id,
      address: m.address,
      http: m.httpAddress,
      since: m.sinceEpoch || 1,
    })),
    departed: (msg.departed ?? []).map((d) => ({ id: d.id, since: d.epoch })),
  };
}
