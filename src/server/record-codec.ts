import type { RecordMsg } from '../proto/messages';
import type { StoreRecord, ValueFlags } from '../store/types';

/** A store record as replicas exchange it on the wire (Peer.Replicate, Read, Sync). */
export function recordToMsg(key: string, r: StoreRecord, hintFor = ''): RecordMsg {
  return {
    key,
    value: r.value,
    flags: r.flags,
    version: { timestamp: r.version.timestamp, node: r.version.node },
    expiresAtMs: r.expiresAtMs,
    tombstone: r.tombstone,
    hintFor,
  };
}

/** The wire form back into a store record; undefined when it carries no version (a malformed peer). */
export function msgToRecord(m: RecordMsg): StoreRecord | undefined {
  if (!m.version || !m.version.node) return undefined;
  return {
    value: m.value,
    flags: m.flags as ValueFlags,
    version: { timestamp: m.version.timestamp, node: m.version.node },
    expiresAtMs: m.expiresAtMs,
    tombstone: m.tombstone,
  };
}
