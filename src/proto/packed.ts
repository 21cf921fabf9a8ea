import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import type { OpKind } from './messages';

/**
 * The compact frame format of Cache.PipelinePacked (the SDK's data path). One msgpack array per frame,
 * positional fields, no per-operation objects on the wire:
 *
 *   request  [frameId, timeoutMs, op, op, ...]
 *     get     [0, key, consistency]
 *     set     [1, key, value, flags, ttlMs, mode, consistency, requestId?]
 *     delete  [2, key, consistency]
 *     touch   [3, key, ttlMs, consistency, requestId?]
 *     incr    [4, key, delta, initial, ttlMs, consistency, requestId?]
 *     cas     [5, key, value, flags, ttlMs, consistency, expectedTimestamp, expectedNode, requestId?]
 *     any op may carry a W3C traceparent at index 9 (TRACEPARENT_INDEX), nil before it
 *     set and cas may carry keepTtl (true) at index 10 (KEEP_TTL_INDEX), nil before it
 *   requestId: chosen by the client, the same on every retry of the call; the key's replicas remember
 *   it, so a retry of a read-modify-write returns its first outcome
 *   notAfter (optional, a number after the ops): the last instant, in the node's wall clock (ms), at
 *   which the frame's writes may still be applied; past it the node refuses them (a write read late
 *   from the socket of a paused node must not be stamped with a version later than what its
 *   caller wrote after giving up on it). Sent only to a node that reports its clock (below).
 *   reply    [frameId, epoch, result, result, ..., clock?]   one result per op, in order; `clock`,
 *            the node's wall clock (ms) when it wrote the reply, only on streams whose client asked
 *            for it with the CLOCK_METADATA header (older clients read no trailing element); a reply past
 *            PACKED_PART_BYTES comes in parts, [-frameId, epoch, results...] for each but the last
 *   refusal  [frameId, epoch, failure]   one failure for a frame of several ops: the frame was refused
 *            whole (limits.max_batch_keys or max_client_input_bytes), the failure stands for each op
 *     failure [code, message, errorName]             code != 0 (google.rpc.Code); errorName TRY_AGAIN
 *             or REPLY_FULL: refused by a limit, nothing written, and worth sending again (below)
 *     get     [0, found, value, flags, timestamp, node, ttlMs]   ([0, false] when absent)
 *     set     [0, stored, timestamp, node]
 *     delete  [0, deleted]
 *     touch   [0, found]
 *     incr    [0, value, timestamp, node]
 *     cas     [0, timestamp, node]
 */
/**
 * The stream header by which a client asks a node to end each reply with its wall clock (see the
 * frame format): the client estimates its offset from the node's clock with it, for notAfter.
 */
export const CLOCK_METADATA = 'ringcache-clock';

/**
 * The trailing number of a request (notAfter) or reply (clock) frame, or undefined when its last
 * element after the head is not a positive safe integer: operations and results are arrays, so a
 * number there is never one of them.
 */
export function trailingNumberOf(frame: readonly unknown[]): number | undefined {
  if (frame.length < 3) return undefined;
  const last = frame[frame.length - 1];
  return typeof last === 'number' && Number.isSafeInteger(last) && last > 0 ? last : undefined;
}

/** Operation codes: the first element of a packed operation. */
export const OpCode = { get: 0, set: 1, delete: 2, touch: 3, incr: 4, cas: 5 } as const;

/**
 * Where an operation of any kind carries the W3C traceparent of the SDK call it belongs to, when the
 * application traces it: past every layout's last field, nil in between. Calls share
 * stream frames, so the trace context goes per operation, not in gRPC metadata.
 */
export const TRACEPARENT_INDEX = 9;

/**
 * Where a set or cas says `true` to keep the replaced value's expiry (Redis's KEEPTTL): after the
 * traceparent, so every earlier layout stays as it was; nil or absent means false.
 */
export const KEEP_TTL_INDEX = 10;

export type PackedGet = [op: 0, key: string, consistency: number];

/**
 * A get of the empty key: refused by the node that receives it, never forwarded, so any answer at
 * all says that this one node reads its stream and answers (the SDK's liveness and clock probes).
 * Not to be mutated: it is sent as it is.
 */
export const PROBE_OP: PackedGet = [OpCode.get, '', 1];
export type PackedSet = [
  op: 1,
  key: string,
  value: Buffer,
  flags: number,
  ttlMs: number,
  mode: number,
  consistency: number,
  requestId?: string,
];
export type PackedDelete = [op: 2, key: string, consistency: number];
export type PackedTouch = [op: 3, key: string, ttlMs: number, consistency: number, requestId?: string];
export type PackedIncr = [
  op: 4,
  key: string,
  delta: number,
  initial: number,
  ttlMs: number,
  consistency: number,
  requestId?: string,
];
export type PackedCas = [
  op: 5,
  key: string,
  value: Buffer,
  flags: number,
  ttlMs: number,
  consistency: number,
  expectedTimestamp: number,
  expectedNode: string,
  requestId?: string,
];
/** An operation as the SDK writes it. Nodes read frames as `unknown[]`, since a peer may send anything. */
export type PackedOp = PackedGet | PackedSet | PackedDelete | PackedTouch | PackedIncr | PackedCas;

/**
 * `deletedHere`: set on a QUORUM_NOT_MET of a delete whose coordinator deleted a live value before
 * the quorum was missed (a retry at another replica then finds the key absent).
 */
export type PackedFailure = [code: number, message: string, errorName: string, deletedHere?: boolean];

/**
 * The error name of a refusal that wrote nothing and may pass if sent again unchanged, because a
 * budget the node shares among its clients was full: a frame refused whole before any of it ran
 * (limits.max_client_input_bytes), or a get whose value found no room in the node's replies
 * (max_client_output_bytes). The node is busy with other clients: the SDK sends the operation again,
 * to another replica or after a backoff, whatever the operation, and tries that node after the
 * others for a moment. Its code stays RESOURCE_EXHAUSTED, so a client that does not know the name
 * reads it as OUT_OF_MEMORY.
 */
export const TRY_AGAIN = 'TRY_AGAIN';

/**
 * The error name of a get refused because the other values of its frame took the reply
 * (limits.max_reply_bytes): nothing ran, and the SDK sends it again as it does TRY_AGAIN, but the node
 * is not busy: only this frame was too large.
 */
export const REPLY_FULL = 'REPLY_FULL';
export type PackedGetResult =
  | [ok: 0, found: false]
  | [ok: 0, found: true, value: Buffer, flags: number, timestamp: number, node: string, ttlMs: number];
export type PackedSetResult = [ok: 0, stored: boolean, timestamp: number, node: string];
/** delete (deleted) and touch (found). */
export type PackedFlagResult = [ok: 0, flag: boolean];
export type PackedIncrResult = [ok: 0, value: number, timestamp: number, node: string];
export type PackedCasResult = [ok: 0, timestamp: number, node: string];

/** The success result of each operation code. */
export interface PackedResults {
  0: PackedGetResult;
  1: PackedSetResult;
  2: PackedFlagResult;
  3: PackedFlagResult;
  4: PackedIncrResult;
  5: PackedCasResult;
}
/** What a node answers an operation: its kind's result, or a failure (code != 0). */
export type PackedReply<O extends PackedOp = PackedOp> = PackedResults[O[0]] | PackedFailure;
export type PackedResult = PackedReply;

/** A replica record in Peer.Replicate and Peer.Read frames (layout in peer.proto). */
export type PackedRecord = [
  key: string,
  value: Buffer,
  flags: number,
  timestamp: number,
  node: string,
  expiresAtMs: number,
  tombstone: boolean,
  /**
   * The replica a stand-in holds the record for, or '' (none). On a hint handed off, an array:
   * [hintFor, (request id, applied outcome)...], the requests whose accept made the record.
   */
  hintFor: string | unknown[],
  /**
   * On a read-modify-write round's accept: the requests that made it, as (request id, applied
   * outcome) pairs (see server/packed-operations.ts). At least one: their presence marks the accept.
   */
  ...requests: (string | unknown[])[],
];

export const OP_KIND: readonly OpKind[] = ['get', 'set', 'delete', 'touch', 'increment', 'compareAndSet'];

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Most bytes of one packed stream message, about: a frame is one gRPC message, and gRPC refuses
 * messages past 64 MiB at either end (80 concurrent sets of 1 MiB made one 80 MiB frame), and a node
 * refuses a client's past its limits.max_request_bytes. Senders, the SDK and the nodes alike, stop a
 * request frame at this many bytes of keys and values, and a reply past it is split into parts
 * (packReply).
 */
export const PACKED_PART_BYTES = 4 * 1024 * 1024;

/** Bytes of the binary values in a packed operation, result or record, nested arrays included. */
export function valueBytesOf(x: unknown, depth = 0): number {
  if (x instanceof Uint8Array) return x.length;
  if (!Array.isArray(x) || depth > 3) return 0;
  let bytes = 0;
  for (const e of x) if (typeof e === 'object' && e !== null) bytes += valueBytesOf(e, depth + 1);
  return bytes;
}

/**
 * The reply to frame `frameId`, as the messages to write: one, or when its values pass
 * PACKED_PART_BYTES, parts of about that size in order, all but the last with the frame id negated.
 */
export function packReply(
  frameId: number,
  head2: unknown,
  results: readonly unknown[],
  clockMs?: number,
): Buffer[] {
  // Sized before packing: packing a large reply whole first would delay its first part, and a
  // client that sees nothing for its flight budget takes the node for stalled.
  const sizes = new Array<number>(results.length);
  let total = 0;
  for (let i = 0; i < results.length; i++) total += sizes[i] = valueBytesOf(results[i]);
  if (total <= PACKED_PART_BYTES || results.length < 2)
    return [packFrame(frameId, head2, results, clockMs, total)];
  const parts: Buffer[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < results.length; i++) {
    if (i > start && bytes + sizes[i]! > PACKED_PART_BYTES) {
      parts.push(packFrame(-frameId, head2, results.slice(start, i), clockMs, bytes));
      start = i;
      bytes = 0;
    }
    bytes += sizes[i]!;
  }
  parts.push(packFrame(frameId, head2, results.slice(start), clockMs, bytes));
  return parts;
}

/** The frame a packed reply (or a part of one, packReply) answers. */
export const replyFrameIdOf = (reply: unknown[]): number => Math.abs(Number(reply[0]));

/** Whether a packed reply is a part of its frame's answer with more to come (packReply). */
export const isReplyPart = (reply: unknown[]): boolean => Number(reply[0]) < 0;

/**
 * The results of a reply that refuses its whole frame of `itemCount` operations (one failure standing
 * for each), or undefined for any other reply. Never a part: a refusal comes whole, while a part of a
 * reply may hold one failure only.
 */
export function refusedFrameResults(reply: unknown[], itemCount: number): PackedFailure[] | undefined {
  const length = trailingNumberOf(reply) === undefined ? reply.length : reply.length - 1;
  if (itemCount < 2 || length !== 3 || isReplyPart(reply)) return undefined;
  const failure = reply[2];
  if (!Array.isArray(failure) || typeof failure[0] !== 'number' || failure[0] === 0) return undefined;
  return new Array<PackedFailure>(itemCount).fill(failure as PackedFailure);
}

/**
 * The length of a packed frame's array and its first element (the frame id), read from the msgpack
 * header without decoding the operations: a frame of a million of them is refused from these alone.
 * Undefined when the head is not written the way packFrame writes it (the full decode then decides).
 */
export function peekFrameHead(payload: Uint8Array): { length: number; frameId: number } | undefined {
  if (payload.length < 2) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const t = payload[0]!;
  let length: number;
  let at: number;
  if (t >= 0x90 && t <= 0x9f) [length, at] = [t - 0x90, 1];
  else if (t === 0xdc && payload.length >= 4) [length, at] = [view.getUint16(1), 3];
  else if (t === 0xdd && payload.length >= 6) [length, at] = [view.getUint32(1), 5];
  else return undefined;
  const id = payload[at];
  if (id === undefined) return undefined;
  if (id <= 0x7f) return { length, frameId: id };
  if (id >= 0xe0) return { length, frameId: id - 0x100 };
  if (payload.length < at + 5) return undefined; // cut off: the full decode says so
  switch (id) {
    case 0xcc:
      return { length, frameId: view.getUint8(at + 1) };
    case 0xcd:
      return { length, frameId: view.getUint16(at + 1) };
    case 0xce:
      return { length, frameId: view.getUint32(at + 1) };
    case 0xd0:
      return { length, frameId: view.getInt8(at + 1) };
    case 0xd1:
      return { length, frameId: view.getInt16(at + 1) };
    case 0xd2:
      return { length, frameId: view.getInt32(at + 1) };
    default:
      return undefined;
  }
}

/**
 * `[head1, head2, ...items]`, then `tail` when given (a request's notAfter, a reply's clock).
 * `itemBytes`: about how many bytes the items' keys and values take, when the caller knows; a frame
 * of more than OWN_BUFFER_BYTES is packed into a buffer of its own, sized for it.
 */
export function packFrame(
  head1: number,
  head2: unknown,
  items: readonly unknown[],
  tail?: number,
  itemBytes = 0,
): Buffer {
  const frame: unknown[] = new Array(items.length + (tail === undefined ? 2 : 3));
  frame[0] = head1;
  frame[1] = head2;
  for (let i = 0; i < items.length; i++) frame[i + 2] = items[i];
  if (tail !== undefined) frame[items.length + 2] = tail;
  // msgpackr packs into one buffer that it shares between packs, and grows it to four times what a
  // pack needs when it runs out: one frame carrying a 1 MiB value left a 4 MiB buffer (copied as it
  // grew), which the next frames were then packed into, each a view holding all of it for as long as
  // its write waited. A large frame gets a buffer of about its own size instead, and the packs after it
  // a small one (makeRoom grows that as it must); the frame's buffer is gone once it is sent.
  let packed: Buffer;
  if (itemBytes > OWN_BUFFER_BYTES) {
    packr.useBuffer(Buffer.allocUnsafeSlow(itemBytes + items.length * FRAMING_BYTES_PER_ITEM + 1024));
    try {
      packed = packr.pack(frame, RESERVE_START_SPACE | HEADER_ROOM);
    } finally {
      packr.useBuffer(Buffer.allocUnsafeSlow(AFTER_OWN_BUFFER_BYTES));
    }
    // Estimated short (keys are counted by their characters, and a reply's by none of them), its
    // buffer was grown to four times the frame: the frame is given one of its own size after all.
    if (packed.buffer.byteLength > 2 * packed.length) packed = Buffer.from(packed);
  } else {
    // Packed behind room for its PackedFrame header, which goes right before it: serializePackedFrame
    // then sends header and payload as one view, where it copied the payload behind a new header.
    packed = packr.pack(frame, RESERVE_START_SPACE | HEADER_ROOM);
  }
  const payload = packed.subarray(HEADER_ROOM);
  writeHeader(packed, HEADER_ROOM, payload.length);
  recentlyFramed[recentlyFramedNext] = payload;
  recentlyFramedNext = (recentlyFramedNext + 1) % recentlyFramed.length;
  if (payload.length > FRAMED_MAX_BYTES && !forgettingLarge) {
    forgettingLarge = true;
    setImmediate(forgetLargeFrames);
  }
  return payload;
}

/** Frames whose items' keys and values take more than this are packed into a buffer of their own. */
const OWN_BUFFER_BYTES = 128 * 1024;
/** What packFrame allows per item beyond its keys and values: msgpack's tags, versions, flags, a key's UTF-8. */
const FRAMING_BYTES_PER_ITEM = 128;
/** The buffer msgpackr packs the frames after a large one into, to start with. */
const AFTER_OWN_BUFFER_BYTES = 64 * 1024;

/**
 * Room kept in front of a packed frame for its PackedFrame header: the field's tag and the payload's
 * length as a varint, up to 2^35 bytes (messages stop at 64 MiB).
 */
const HEADER_ROOM = 6;

/**
 * The last payloads packFrame wrote with their PackedFrame header right before them, in the same
 * memory. A frame is serialized as it is written to its stream, right after it is packed (a reply in
 * parts, a few at once): a payload found here is sent with its header as one view; one packed
 * longer ago is copied. A WeakSet of them all cost more than the copies it saved (each entry is work
 * for every collection). Each entry holds the whole buffer msgpackr packed it in, until it is sent
 * or eight more are packed; a frame past FRAMED_MAX_BYTES (a 1 MiB value's replica write, a large
 * reply's part, which a cancelled call may never send) only until the event loop's next turn, so that
 * this holds a few MiB at most on a node gone quiet. Sent as a view, such a frame is copied once
 * (grpc-js frames every message into a buffer of its own) where it was copied twice; while a replica
 * write of 1 MiB waits for its peer's socket, it holds that much less.
 */
const recentlyFramed: (Buffer | undefined)[] = new Array<Buffer | undefined>(8).fill(undefined);
/** Frames kept in recentlyFramed past the event loop's turn are at most this large. */
const FRAMED_MAX_BYTES = 256 * 1024;
let recentlyFramedNext = 0;
/** Whether forgetLargeFrames is due at setImmediate. */
let forgettingLarge = false;

function forgetLargeFrames(): void {
  forgettingLarge = false;
  for (let i = 0; i < recentlyFramed.length; i++) {
    if ((recentlyFramed[i]?.length ?? 0) > FRAMED_MAX_BYTES) recentlyFramed[i] = undefined;
  }
}

/** Whether packFrame just wrote `payload` behind its header; forgotten once asked (it is sent). */
function wasFramed(payload: Buffer): boolean {
  for (let i = 0; i < recentlyFramed.length; i++) {
    if (recentlyFramed[i] !== payload) continue;
    recentlyFramed[i] = undefined;
    return true;
  }
  return false;
}

/** Bytes of PackedFrame's header for a payload of `length` bytes: the tag, then a varint. */
function headerLength(length: number): number {
  let header = 2;
  for (let len = length; len >= 0x80; len = Math.floor(len / 128)) header++;
  return header;
}

/** Writes the PackedFrame header of a payload of `length` bytes into `out`, ending at `end`. */
function writeHeader(out: Buffer, end: number, length: number): void {
  let pos = end - headerLength(length);
  out[pos++] = 0x0a;
  let len = length;
  while (len >= 0x80) {
    out[pos++] = (len & 0x7f) | 0x80;
    len = Math.floor(len / 128);
  }
  out[pos] = len;
}

/**
 * The frame in `payload`. Throws a TypeError whose message is about the frame, never the decoder's
 * own ("Maximum call stack size exceeded", "Data read, but end of buffer not reached"): it reaches
 * the caller as an INVALID_ARGUMENT.
 */
export function unpackFrame(payload: Buffer): unknown[] {
  if (!(payload instanceof Uint8Array)) throw new TypeError('the payload is not a PackedFrame');
  let frame: unknown;
  try {
    frame = packr.unpack(payload);
  } catch (err) {
    throw new TypeError(
      `the payload (${payload.length} bytes) is not one msgpack value: ${decoderProblem(err)}`,
    );
  }
  if (!Array.isArray(frame) || frame.length < 2)
    throw new TypeError('a packed frame must be an array [id, n, ...]');
  return frame;
}

/** What went wrong in msgpack terms, for a person who sent the bytes. */
function decoderProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(message)) return 'it nests too deeply';
  if (/end of buffer not reached/i.test(message)) return 'bytes follow the first value';
  if (/unexpected end|end of buffer|out of range|beyond/i.test(message)) return 'it is cut off';
  return 'it does not decode';
}

/**
 * PackedFrame { bytes payload = 1 } written by hand: field 1, wire type 2, varint length, bytes. A
 * payload from packFrame has its header right before it already: header and payload are sent as one
 * view of that memory (msgpackr never writes where it packed before, as long as no one sets its
 * position, or gives useBuffer() a buffer written before: packFrame gives it new ones only). Any
 * other is copied behind one.
 */
export function serializePackedFrame(payload: Buffer): Buffer {
  const header = headerLength(payload.length);
  if (wasFramed(payload))
    return Buffer.from(payload.buffer, payload.byteOffset - header, header + payload.length);
  const out = Buffer.allocUnsafe(header + payload.length);
  writeHeader(out, header, payload.length);
  payload.copy(out, header);
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
