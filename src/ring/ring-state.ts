/*
 * A ring's membership as nodes and clients exchange it, and how two of them are reconciled.
 * Each member carries the epoch of the change that made it one (`since`), and each member that
 * left stays listed as a departure with the epoch of its leave. That makes the state a CRDT: for
 * each id the record of the latest change wins, so two rings changed on both sides of a partition
 * merge into one that holds every change of both, whichever node computes it and in whatever order.
 * A change is undone only by a later change of the same member, never by a merge.
 *
 * Epoch 1 is a node's own cluster.yml, not a change (a joining node's lists itself): it is never
 * merged, and any ring of a later epoch replaces it as it is.
 */

/** A member of the ring: explicit, from cluster.yml or a join. */
export interface RingMember {
  id: string;
  address: string;
  http: string;
}

/** A member with the epoch of the join that added it (1: cluster.yml). */
export interface RingEntry extends RingMember {
  since: number;
}

/** A member that left, with the epoch of its leave. */
export interface RingDeparture {
  id: string;
  since: number;
}

export interface RingState {
  epoch: number;
  members: RingEntry[];
  departed: RingDeparture[];
}

/** How a received ring stands to the one held. */
export type RingRelation = 'same' | 'newer' | 'older' | 'concurrent';

/** A node's ring before any change: its cluster.yml at epoch 1. */
export function initialRing(members: readonly RingMember[]): RingState {
  return { epoch: 1, members: members.map((m) => entry(m, 1)), departed: [] };
}

/**
 * The ring after a change to `members` (a join adds one, a leave removes one): the next epoch, with
 * `since` = that epoch for whoever joined or left. Members that stay keep their records.
 */
export function changedRing(state: RingState, members: readonly RingMember[]): RingState {
  const epoch = state.epoch + 1;
  const held = new Map(state.members.map((m) => [m.id, m]));
  const next = members.map((m) => {
    const old = held.get(m.id);
    return old && sameMember(old, m) ? old : entry(m, epoch);
  });
  const staying = new Set(members.map((m) => m.id));
  const departed = state.departed.filter((d) => !staying.has(d.id));
  for (const m of state.members) if (!staying.has(m.id)) departed.push({ id: m.id, since: epoch });
  return { epoch, members: next, departed };
}

/** How `received` stands to `held`. */
export function relationOf(held: RingState, received: RingState): RingRelation {
  if (held.epoch <= 1 || received.epoch <= 1) {
    // A cluster.yml ring never merges: the later epoch wins, and two of epoch 1 stay each node's own.
    if (received.epoch === held.epoch) return digestOf(received) === digestOf(held) ? 'same' : 'older';
    return received.epoch > held.epoch ? 'newer' : 'older';
  }
  const a = recordsOf(held);
  const b = recordsOf(received);
  let heldAhead = false;
  let receivedAhead = false;
  for (const id of new Set([...a.keys(), ...b.keys()])) {
    const c = compareRecords(a.get(id), b.get(id));
    if (c === 'conflict') return 'concurrent';
    if (c < 0) receivedAhead = true;
    if (c > 0) heldAhead = true;
  }
  if (heldAhead && receivedAhead) return 'concurrent';
  if (receivedAhead) return 'newer';
  if (heldAhead) return 'older';
  if (received.epoch === held.epoch) return 'same';
  // The same changes at different epochs (merged in different orders): the higher epoch is kept.
  return received.epoch > held.epoch ? 'newer' : 'older';
}

/**
 * Two concurrent rings merged: for each id the record of its latest change; of two different ones
 * made at the same epoch, the departure, else the one whose address sorts last. The epoch is one
 * past both, so every node that merges the same two rings gets the same ring at the same epoch.
 */
export function mergeRings(a: RingState, b: RingState): RingState {
  const x = recordsOf(a);
  const y = recordsOf(b);
  const members: RingEntry[] = [];
  const departed: RingDeparture[] = [];
  for (const id of [...new Set([...x.keys(), ...y.keys()])].sort()) {
    const r = latest(x.get(id), y.get(id));
    if ('address' in r) members.push(r);
    else departed.push(r);
  }
  return { epoch: Math.max(a.epoch, b.epoch) + 1, members, departed };
}

/**
 * A short digest of the ring (epoch aside): gossip carries it next to the epoch, so two nodes at the
 * same epoch with different rings notice and exchange them. 32-bit FNV-1a of the sorted records;
 * never 0, which the wire uses for "not sent".
 */
export function digestOf(state: RingState): number {
  let h = 0x811c9dc5;
  for (const line of listing(state)) {
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 10, 0x01000193);
  }
  return h >>> 0 || 1;
}

function listing(state: RingState): string[] {
  return [
    ...state.members.map((m) => `+${m.id} ${m.address} ${m.http} ${m.since}`),
    ...state.departed.map((d) => `-${d.id} ${d.since}`),
  ].sort();
}

type RingRecord = RingEntry | RingDeparture;

function recordsOf(state: RingState): Map<string, RingRecord> {
  const records = new Map<string, RingRecord>();
  for (const d of state.departed) records.set(d.id, d);
  for (const m of state.members) records.set(m.id, m);
  return records;
}

/** Negative when `b` is the later change, positive when `a` is, 0 when equal; conflict: same epoch, different change. */
function compareRecords(a: RingRecord | undefined, b: RingRecord | undefined): number | 'conflict' {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  if (a.since !== b.since) return a.since - b.since;
  return recordKey(a) === recordKey(b) ? 0 : 'conflict';
}

function latest(a: RingRecord | undefined, b: RingRecord | undefined): RingRecord {
  if (!a) return b!;
  if (!b) return a;
  if (a.since !== b.since) return a.since > b.since ? a : b;
  const aLeft = !('address' in a);
  const bLeft = !('address' in b);
  if (aLeft !== bLeft) return aLeft ? a : b;
  return recordKey(a) >= recordKey(b) ? a : b;
}

function recordKey(r: RingRecord): string {
  return 'address' in r ? `+${r.address} ${r.http}` : '-';
}

function entry(m: RingMember, since: number): RingEntry {
  return { id: m.id, address: m.address, http: m.http, since };
}

function sameMember(a: RingMember, b: RingMember): boolean {
  return a.address === b.address && a.http === b.http;
}
