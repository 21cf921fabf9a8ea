import { Packr } from 'msgpackr';
import { RingCacheError } from '../errors';
import { ValueFlags } from '../proto/messages';

/**
 * JS values to stored bytes and back. Strings are stored as UTF-8 and Buffers as raw bytes, so people
 * using grpcurl or other clients see them plainly; everything else is msgpack (msgpackr without its
 * record extension, so any msgpack decoder can read it).
 */
const packr = new Packr({ useRecords: false });

/** Deeper nesting than this is refused: it is almost always a cycle, and msgpackr would overflow the stack. */
const MAX_DEPTH = 64;

export interface Encoded {
  value: Buffer;
  flags: number;
}

export function encodeValue(value: unknown): Encoded {
  if (typeof value === 'string') return { value: Buffer.from(value, 'utf8'), flags: ValueFlags.UTF8 };
  if (Buffer.isBuffer(value)) return { value, flags: ValueFlags.RAW };
  if (value instanceof Uint8Array)
    return { value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), flags: ValueFlags.RAW };
  if (value === undefined)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      'value is undefined; use delete() to remove a key, or store null',
    );
  assertEncodable(value, 'value', 0);
  return { value: packr.pack(value), flags: ValueFlags.MSGPACK };
}

export function decodeValue(value: Buffer, flags: number): unknown {
  switch (flags) {
    case ValueFlags.UTF8:
      return value.toString('utf8');
    case ValueFlags.MSGPACK:
      return packr.unpack(value);
    default:
      return value;
  }
}

/**
 * msgpackr silently turns functions into undefined and throws a terse error for symbols; refuse both
 * before anything is sent, naming where the bad value sits.
 */
function assertEncodable(value: unknown, path: string, depth: number): void {
  switch (typeof value) {
    case 'function':
      throw new RingCacheError('INVALID_ARGUMENT', `${path} is a function; functions cannot be stored`);
    case 'symbol':
      throw new RingCacheError('INVALID_ARGUMENT', `${path} is a symbol; symbols cannot be stored`);
    case 'object':
      break;
    default:
      return;
  }
  if (value === null || Buffer.isBuffer(value) || value instanceof Date || ArrayBuffer.isView(value)) return;
  if (depth >= MAX_DEPTH)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${path} is nested more than ${MAX_DEPTH} levels deep (a circular reference?)`,
    );
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertEncodable(value[i], `${path}[${i}]`, depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) assertEncodable(v, `${path}.get(${String(k)})`, depth + 1);
  } else if (value instanceof Set) {
    for (const v of value) assertEncodable(v, `${path} (a Set member)`, depth + 1);
  } else {
    for (const k in value) assertEncodable((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
  }
}
