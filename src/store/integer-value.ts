import { RingCacheError } from '../errors';
import type { ValueFlags } from './types';

/*
 * increment() reads and writes integers in the encoding the value already has: UTF-8 / ASCII
 * decimal for flags 1 and 0 (what `ringcache set k 5` and grpcurl users write), a msgpack integer
 * for flags 2 (what the SDK's codec writes). Integers are limited to +-(2^53-1) so they are exact
 * JS numbers; msgpack 64-bit forms are accepted when they fit.
 */

const DECIMAL = /^-?[0-9]{1,20}$/;

function notAnInteger(key: string, why: string): RingCacheError {
  return new RingCacheError('NOT_AN_INTEGER', `value of key '${key}' is not an integer: ${why}`);
}

export function decodeInteger(key: string, bytes: Buffer, flags: ValueFlags): number {
  const n = flags === 2 ? decodeMsgpackInteger(key, bytes) : decodeDecimal(key, bytes);
  if (!Number.isSafeInteger(n)) throw notAnInteger(key, `${String(n)} is outside +-(2^53-1)`);
  return n === 0 ? 0 : n; // -0 from "-0"
}

export function encodeInteger(n: number, flags: ValueFlags): Buffer {
  return flags === 2 ? encodeMsgpackInteger(n) : Buffer.from(String(n), 'latin1');
}

/** Checks a result before it is stored: overflow is reported, never wrapped or rounded. */
export function checkIncrementResult(key: string, current: number, delta: number): number {
  const result = current + delta;
  if (!Number.isSafeInteger(result)) {
    throw notAnInteger(key, `${current} + ${delta} overflows +-(2^53-1)`);
  }
  return result;
}

function decodeDecimal(key: string, bytes: Buffer): number {
  const text = bytes.length <= 21 ? bytes.toString('latin1') : '';
  if (!DECIMAL.test(text)) {
    const preview = bytes.subarray(0, 32).toString('utf8');
    throw notAnInteger(key, JSON.stringify(preview) + (bytes.length > 32 ? '...' : ''));
  }
  return Number(text);
}

function decodeMsgpackInteger(key: string, b: Buffer): number {
  const tag = b.length > 0 ? b[0]! : -1;
  const sized = (len: number, read: () => number | bigint): number => {
    if (b.length !== len) throw notAnInteger(key, `msgpack value is ${b.length} bytes, expected ${len}`);
    return Number(read());
  };
  if (tag >= 0x00 && tag <= 0x7f) return sized(1, () => tag);
  if (tag >= 0xe0) return sized(1, () => tag - 0x100);
  switch (tag) {
    case 0xcc:
      return sized(2, () => b.readUInt8(1));
    case 0xcd:
      return sized(3, () => b.readUInt16BE(1));
    case 0xce:
      return sized(5, () => b.readUInt32BE(1));
    case 0xcf:
      return sized(9, () => b.readBigUInt64BE(1));
    case 0xd0:
      return sized(2, () => b.readInt8(1));
    case 0xd1:
      return sized(3, () => b.readInt16BE(1));
    case 0xd2:
      return sized(5, () => b.readInt32BE(1));
    case 0xd3:
      return sized(9, () => b.readBigInt64BE(1));
    // Encoders such as msgpackr write integral numbers beyond 32 bits as float64: accept whole ones.
    case 0xca:
      return wholeFloat(
        key,
        sized(5, () => b.readFloatBE(1)),
      );
    case 0xcb:
      return wholeFloat(
        key,
        sized(9, () => b.readDoubleBE(1)),
      );
    default:
      throw notAnInteger(key, tag < 0 ? 'msgpack value is empty' : `msgpack type 0x${tag.toString(16)}`);
  }
}

function wholeFloat(key: string, n: number): number {
  if (!Number.isInteger(n)) throw notAnInteger(key, `msgpack float ${n}`);
  return n;
}

/** The shortest msgpack form, as the spec asks of encoders. */
function encodeMsgpackInteger(n: number): Buffer {
  if (n >= 0) {
    if (n < 0x80) return Buffer.from([n]);
    if (n < 0x100) return Buffer.from([0xcc, n]);
    if (n < 0x10000) return withTag(0xcd, 3, (b) => b.writeUInt16BE(n, 1));
    if (n < 0x100000000) return withTag(0xce, 5, (b) => b.writeUInt32BE(n, 1));
    return withTag(0xcf, 9, (b) => b.writeBigUInt64BE(BigInt(n), 1));
  }
  if (n >= -32) return Buffer.from([n + 0x100]);
  if (n >= -0x80) return withTag(0xd0, 2, (b) => b.writeInt8(n, 1));
  if (n >= -0x8000) return withTag(0xd1, 3, (b) => b.writeInt16BE(n, 1));
  if (n >= -0x80000000) return withTag(0xd2, 5, (b) => b.writeInt32BE(n, 1));
  return withTag(0xd3, 9, (b) => b.writeBigInt64BE(BigInt(n), 1));
}

function withTag(tag: number, len: number, fill: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(len);
  b[0] = tag;
  fill(b);
  return b;
}
