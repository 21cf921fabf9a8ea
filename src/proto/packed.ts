import { Packr } from 'msgpackr';
import {
  Code,
  type OperationMsg,
  type OperationResultMsg,
  type OpKind,
  type RecordMsg,
  type VersionMsg,
} from './messages';

/**
 * The compact frame format of Cache.PipelinePacked (the SDK's data path). One msgpack array per frame,
 * positional fields, no per-operation objects on the wire:
 *
 *   request  [frameId, timeoutMs, op, op, ...]
 *     get     [0, key, consistency]
 *     set     [1, key, value, flags, ttlMs, mode, consistency]
 *     delete  [2, key, consistency]
 *     touch   [3, key, ttlMs, consistency]
 *     incr    [4, key, delta, initial, ttlMs, consistency]
 *     cas     [5, key, value, flags, ttlMs, consistency, expectedTimestamp, expectedNode]
 *   reply    [frameId, epoch, result, result, ...]   one result per op, in order
 *     failure [code, message, errorName]             code != 0 (google.rpc.Code)
 *     get     [0, found, value, flags, timestamp, node, ttlMs]   ([0, false] when absent)
 *     set     [0, stored, timestamp, node]
 *     delete  [0, deleted]
 *     touch   [0, found]
 *     incr    [0, value, timestamp, node]
 *     cas     [0, timestamp, node]
 */
export type PackedOp = unknown[];
export type PackedResult = unknown[];

export const OP_KIND: readonly OpKind[] = ['get', 'set', 'delete', 'touch', 'increment', 'compareAndSet'];
export const KIND_CODE: Readonly<Record<OpKind, number>> = {
  get: 0,
  set: 1,
  delete: 2,
  touch: 3,
  increment: 4,
  compareAndSet: 5,
};

const packr = new Packr({ useRecords: false, moreTypes: false });

export function packFrame(head1: number, head2: unknown, items: readonly unknown[]): Buffer {
  const frame: unknown[] = new Array(items.length + 2);
  frame[0] = head1;
  frame[1] = head2;
  for (let i = 0; i < items.length; i++) frame[i + 2] = items[i];
  return packr.pack(frame);
}

export function unpackFrame(payload: Buffer): unknown[] {
  const frame: unknown = packr.unpack(payload);
  if (!Array.isArray(frame) || frame.length < 2)
    throw new TypeError('a packed frame must be an array [id, n, ...]');
  return frame;
}

/** PackedFrame { bytes payload = 1 } written by hand: field 1, wire type 2, varint length, bytes. */
export function serializePackedFrame(payload: Buffer): Buffer {
  let len = payload.length;
  let header = 2;
  while (len >= 0x80) {
    len >>>= 7;
    header++;
  }
  const out = Buffer.allocUnsafe(header + payload.length);
  out[0] = 0x0a;
  let pos = 1;
  len = payload.length;
  while (len >= 0x80) {
    out[pos++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  out[pos++] = len;
  payload.copy(out, pos);
  return out;
}

export function deserializePackedFrame(buf: Buffer): Buffer {
  if (buf.length === 0) return buf;
  if (buf[0] !== 0x0a) throw new TypeError('not a PackedFrame: field 1 (payload) expected');
  let len = 0;
  let shift = 0;
  let pos = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new TypeError('truncated PackedFrame');
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  if (pos + len > buf.length) throw new TypeError('truncated PackedFrame: payload shorter than its length');
  return buf.subarray(pos, pos + len);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const bin = (v: unknown): Buffer =>
  Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : EMPTY;
const EMPTY = Buffer.alloc(0);

/** A packed operation as the executor's OperationMsg; undefined when its kind is unknown. */
export function opFromPacked(p: PackedOp, id: number): OperationMsg | undefined {
  const key = str(p[1]);
  switch (p[0]) {
    case 0:
      return { id, op: 'get', get: { key, consistency: num(p[2]) } };
    case 1:
      return {
        id,
        op: 'set',
        set: {
          key,
          value: bin(p[2]),
          flags: num(p[3]),
          ttlMs: num(p[4]),
          mode: num(p[5]),
          consistency: num(p[6]),
        },
      };
    case 2:
      return { id, op: 'delete', delete: { key, consistency: num(p[2]) } };
    case 3:
      return { id, op: 'touch', touch: { key, ttlMs: num(p[2]), consistency: num(p[3]) } };
    case 4:
      return {
        id,
        op: 'increment',
        increment: { key, delta: num(p[2]), initial: num(p[3]), ttlMs: num(p[4]), consistency: num(p[5]) },
      };
    case 5:
      return {
        id,
        op: 'compareAndSet',
        compareAndSet: {
          key,
          value: bin(p[2]),
          flags: num(p[3]),
          ttlMs: num(p[4]),
          consistency: num(p[5]),
          expected: p[7] ? { timestamp: num(p[6]), node: str(p[7]) } : null,
        },
      };
    default:
      return undefined;
  }
}

const ts = (v: VersionMsg | null | undefined) => v?.timestamp ?? 0;
const node = (v: VersionMsg | null | undefined) => v?.node ?? '';

/** An executor result in packed form. */
export function resultToPacked(r: OperationResultMsg): PackedResult {
  if (r.code !== Code.OK) return [r.code, r.message, r.error ?? ''];
  switch (r.result) {
    case 'get': {
      const g = r.get!;
      return g.found ? [0, true, g.value, g.flags, ts(g.version), node(g.version), g.ttlMs] : [0, false];
    }
    case 'set':
      return [0, r.set!.stored, ts(r.set!.version), node(r.set!.version)];
    case 'delete':
      return [0, r.delete!.deleted];
    case 'touch':
      return [0, r.touch!.found];
    case 'increment':
      return [0, r.increment!.value, ts(r.increment!.version), node(r.increment!.version)];
    case 'compareAndSet':
      return [0, ts(r.compareAndSet!.version), node(r.compareAndSet!.version)];
    default:
      return [Code.INTERNAL, 'result without a kind', 'INTERNAL'];
  }
}

/** A replica record in Peer.Replicate and Peer.Read frames (layout in peer.proto). */
export function recordToPacked(r: RecordMsg): unknown[] {
  return [
    r.key,
    r.value,
    r.flags,
    r.version?.timestamp ?? 0,
    r.version?.node ?? '',
    r.expiresAtMs,
    r.tombstone,
    r.hintFor,
  ];
}

export function recordFromPacked(p: unknown[]): RecordMsg {
  const node = str(p[4]);
  return {
    key: str(p[0]),
    value: bin(p[1]),
    flags: num(p[2]),
    version: node ? { timestamp: num(p[3]), node } : null,
    expiresAtMs: num(p[5]),
    tombstone: p[6] === true,
    hintFor: str(p[7]),
  };
}
