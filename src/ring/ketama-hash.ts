import { hash as cryptoHash } from 'node:crypto';

/**
 * A key's position on the ring, computed exactly as hashring 3.2 does (`hashValue`): the MD5 digest
 * of the key's UTF-8 bytes, first four digest bytes read little-endian as a uint32. Those four bytes
 * are MD5's state word A, so only A is computed here.
 *
 * Why not just call node:crypto: a native call costs ~0.3-0.5 µs of boundary crossing and a Buffer
 * per key, more than the SDK's whole per-op routing budget. Keys are short, so a pure-JS MD5 of one
 * 64-byte block (UTF-8 length <= 55 bytes) avoids both; longer keys fall back to crypto.hash. See
 * bench/ring.ts for the measured difference; test/unit/ring/ketama-hash.test.ts proves equality.
 *
 * UTF-8 encoding matches Buffer.from(key, 'utf8') (which crypto uses for strings), including its
 * replacement of a lone surrogate by U+FFFD (EF BF BD).
 */
export function ketamaHash(key: string): number {
  // UTF-8 never has fewer bytes than UTF-16 code units, so a long string cannot fit one block.
  if (key.length > MAX_SINGLE_BLOCK_BYTES) return cryptoKetamaHash(key);
  const len = encodeUtf8Block(key);
  if (len < 0) return cryptoKetamaHash(key);
  return md5WordA(len);
}

/** The reference: what hashring computes, via node:crypto. Used for long keys and by tests. */
export function cryptoKetamaHash(key: string): number {
  return cryptoHash('md5', key, 'buffer').readUInt32LE(0);
}

/** 64-byte block minus the 0x80 terminator and the 8-byte bit length. */
const MAX_SINGLE_BLOCK_BYTES = 55;

/** The single message block as 16 little-endian words; reused so hashing allocates nothing. */
const block = new Int32Array(16);

function putByte(pos: number, byte: number): void {
  const i = pos >> 2;
  block[i] = block[i]! | (byte << ((pos & 3) << 3));
}

/** Writes the key's UTF-8 bytes into `block`; returns the byte length, or -1 if over 55 bytes. */
function encodeUtf8Block(key: string): number {
  block.fill(0);
  let pos = 0;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      if (pos >= MAX_SINGLE_BLOCK_BYTES) return -1;
      putByte(pos++, c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? key.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // lone surrogate: what Buffer.from(..., 'utf8') writes
      }
    }
    if (c < 0x800) {
      if (pos + 2 > MAX_SINGLE_BLOCK_BYTES) return -1;
      putByte(pos++, 0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      if (pos + 3 > MAX_SINGLE_BLOCK_BYTES) return -1;
      putByte(pos++, 0xe0 | (c >> 12));
      putByte(pos++, 0x80 | ((c >> 6) & 0x3f));
    } else {
      if (pos + 4 > MAX_SINGLE_BLOCK_BYTES) return -1;
      putByte(pos++, 0xf0 | (c >> 18));
      putByte(pos++, 0x80 | ((c >> 12) & 0x3f));
      putByte(pos++, 0x80 | ((c >> 6) & 0x3f));
    }
    putByte(pos++, 0x80 | (c & 0x3f));
  }
  return pos;
}

/**
 * MD5 of the single padded block in `block` holding `len` message bytes; returns only the first
 * digest word (A). A is last assigned in step 61 of 64, so steps 62-64 (which only change D, C and B)
 * are skipped.
 *
 * The 61 steps are written out (RFC 1321 3.4: F, G, H, I rounds), not calls to a step function: V8
 * does not inline 61 calls into one function, and the calls alone made the hash ~750 ns instead of
 * ~100 ns (measured with bench/ring.ts). Each step is n = a + f(b, c, d) + x[k] + T[i];
 * a = b + (n <<< s).
 */
// prettier-ignore
function md5WordA(len: number): number {
  putByte(len, 0x80);
  const x = block;
  const x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!, x4 = x[4]!, x5 = x[5]!, x6 = x[6]!, x7 = x[7]!;
  const x8 = x[8]!, x9 = x[9]!, x10 = x[10]!, x11 = x[11]!, x12 = x[12]!, x13 = x[13]!, x15 = x[15]!;
  const x14 = len << 3; // bit length, low word; the high word (x15) stays 0 for <= 55 bytes
  let a = 0x67452301, b = 0xefcdab89 | 0, c = 0x98badcfe | 0, d = 0x10325476;
  let n: number;

  n = (a + ((b & c) | (~b & d)) + x0 - 680876936) | 0;
  a = (((n << 7) | (n >>> 25)) + b) | 0;
  n = (d + ((a & b) | (~a & c)) + x1 - 389564586) | 0;
  d = (((n << 12) | (n >>> 20)) + a) | 0;
  n = (c + ((d & a) | (~d & b)) + x2 + 606105819) | 0;
  c = (((n << 17) | (n >>> 15)) + d) | 0;
  n = (b + ((c & d) | (~c & a)) + x3 - 1044525330) | 0;
  b = (((n << 22) | (n >>> 10)) + c) | 0;
  n = (a + ((b & c) | (~b & d)) + x4 - 176418897) | 0;
  a = (((n << 7) | (n >>> 25)) + b) | 0;
  n = (d + ((a & b) | (~a & c)) + x5 + 1200080426) | 0;
  d = (((n << 12) | (n >>> 20)) + a) | 0;
  n = (c + ((d & a) | (~d & b)) + x6 - 1473231341) | 0;
  c = (((n << 17) | (n >>> 15)) + d) | 0;
  n = (b + ((c & d) | (~c & a)) + x7 - 45705983) | 0;
  b = (((n << 22) | (n >>> 10)) + c) | 0;
  n = (a + ((b & c) | (~b & d)) + x8 + 1770035416) | 0;
  a = (((n << 7) | (n >>> 25)) + b) | 0;
  n = (d + ((a & b) | (~a & c)) + x9 - 1958414417) | 0;
  d = (((n << 12) | (n >>> 20)) + a) | 0;
  n = (c + ((d & a) | (~d & b)) + x10 - 42063) | 0;
  c = (((n << 17) | (n >>> 15)) + d) | 0;
  n = (b + ((c & d) | (~c & a)) + x11 - 1990404162) | 0;
  b = (((n << 22) | (n >>> 10)) + c) | 0;
  n = (a + ((b & c) | (~b & d)) + x12 + 1804603682) | 0;
  a = (((n << 7) | (n >>> 25)) + b) | 0;
  n = (d + ((a & b) | (~a & c)) + x13 - 40341101) | 0;
  d = (((n << 12) | (n >>> 20)) + a) | 0;
  n = (c + ((d & a) | (~d & b)) + x14 - 1502002290) | 0;
  c = (((n << 17) | (n >>> 15)) + d) | 0;
  n = (b + ((c & d) | (~c & a)) + x15 + 1236535329) | 0;
  b = (((n << 22) | (n >>> 10)) + c) | 0;

  n = (a + ((b & d) | (c & ~d)) + x1 - 165796510) | 0;
  a = (((n << 5) | (n >>> 27)) + b) | 0;
  n = (d + ((a & c) | (b & ~c)) + x6 - 1069501632) | 0;
  d = (((n << 9) | (n >>> 23)) + a) | 0;
  n = (c + ((d & b) | (a & ~b)) + x11 + 643717713) | 0;
  c = (((n << 14) | (n >>> 18)) + d) | 0;
  n = (b + ((c & a) | (d & ~a)) + x0 - 373897302) | 0;
  b = (((n << 20) | (n >>> 12)) + c) | 0;
  n = (a + ((b & d) | (c & ~d)) + x5 - 701558691) | 0;
  a = (((n << 5) | (n >>> 27)) + b) | 0;
  n = (d + ((a & c) | (b & ~c)) + x10 + 38016083) | 0;
  d = (((n << 9) | (n >>> 23)) + a) | 0;
  n = (c + ((d & b) | (a & ~b)) + x15 - 660478335) | 0;
  c = (((n << 14) | (n >>> 18)) + d) | 0;
  n = (b + ((c & a) | (d & ~a)) + x4 - 405537848) | 0;
  b = (((n << 20) | (n >>> 12)) + c) | 0;
  n = (a + ((b & d) | (c & ~d)) + x9 + 568446438) | 0;
  a = (((n << 5) | (n >>> 27)) + b) | 0;
  n = (d + ((a & c) | (b & ~c)) + x14 - 1019803690) | 0;
  d = (((n << 9) | (n >>> 23)) + a) | 0;
  n = (c + ((d & b) | (a & ~b)) + x3 - 187363961) | 0;
  c = (((n << 14) | (n >>> 18)) + d) | 0;
  n = (b + ((c & a) | (d & ~a)) + x8 + 1163531501) | 0;
  b = (((n << 20) | (n >>> 12)) + c) | 0;
  n = (a + ((b & d) | (c & ~d)) + x13 - 1444681467) | 0;
  a = (((n << 5) | (n >>> 27)) + b) | 0;
  n = (d + ((a & c) | (b & ~c)) + x2 - 51403784) | 0;
  d = (((n << 9) | (n >>> 23)) + a) | 0;
  n = (c + ((d & b) | (a & ~b)) + x7 + 1735328473) | 0;
  c = (((n << 14) | (n >>> 18)) + d) | 0;
  n = (b + ((c & a) | (d & ~a)) + x12 - 1926607734) | 0;
  b = (((n << 20) | (n >>> 12)) + c) | 0;

  n = (a + (b ^ c ^ d) + x5 - 378558) | 0;
  a = (((n << 4) | (n >>> 28)) + b) | 0;
  n = (d + (a ^ b ^ c) + x8 - 2022574463) | 0;
  d = (((n << 11) | (n >>> 21)) + a) | 0;
  n = (c + (d ^ a ^ b) + x11 + 1839030562) | 0;
  c = (((n << 16) | (n >>> 16)) + d) | 0;
  n = (b + (c ^ d ^ a) + x14 - 35309556) | 0;
  b = (((n << 23) | (n >>> 9)) + c) | 0;
  n = (a + (b ^ c ^ d) + x1 - 1530992060) | 0;
  a = (((n << 4) | (n >>> 28)) + b) | 0;
  n = (d + (a ^ b ^ c) + x4 + 1272893353) | 0;
  d = (((n << 11) | (n >>> 21)) + a) | 0;
  n = (c + (d ^ a ^ b) + x7 - 155497632) | 0;
  c = (((n << 16) | (n >>> 16)) + d) | 0;
  n = (b + (c ^ d ^ a) + x10 - 1094730640) | 0;
  b = (((n << 23) | (n >>> 9)) + c) | 0;
  n = (a + (b ^ c ^ d) + x13 + 681279174) | 0;
  a = (((n << 4) | (n >>> 28)) + b) | 0;
  n = (d + (a ^ b ^ c) + x0 - 358537222) | 0;
  d = (((n << 11) | (n >>> 21)) + a) | 0;
  n = (c + (d ^ a ^ b) + x3 - 722521979) | 0;
  c = (((n << 16) | (n >>> 16)) + d) | 0;
  n = (b + (c ^ d ^ a) + x6 + 76029189) | 0;
  b = (((n << 23) | (n >>> 9)) + c) | 0;
  n = (a + (b ^ c ^ d) + x9 - 640364487) | 0;
  a = (((n << 4) | (n >>> 28)) + b) | 0;
  n = (d + (a ^ b ^ c) + x12 - 421815835) | 0;
  d = (((n << 11) | (n >>> 21)) + a) | 0;
  n = (c + (d ^ a ^ b) + x15 + 530742520) | 0;
  c = (((n << 16) | (n >>> 16)) + d) | 0;
  n = (b + (c ^ d ^ a) + x2 - 995338651) | 0;
  b = (((n << 23) | (n >>> 9)) + c) | 0;

  n = (a + (c ^ (b | ~d)) + x0 - 198630844) | 0;
  a = (((n << 6) | (n >>> 26)) + b) | 0;
  n = (d + (b ^ (a | ~c)) + x7 + 1126891415) | 0;
  d = (((n << 10) | (n >>> 22)) + a) | 0;
  n = (c + (a ^ (d | ~b)) + x14 - 1416354905) | 0;
  c = (((n << 15) | (n >>> 17)) + d) | 0;
  n = (b + (d ^ (c | ~a)) + x5 - 57434055) | 0;
  b = (((n << 21) | (n >>> 11)) + c) | 0;
  n = (a + (c ^ (b | ~d)) + x12 + 1700485571) | 0;
  a = (((n << 6) | (n >>> 26)) + b) | 0;
  n = (d + (b ^ (a | ~c)) + x3 - 1894986606) | 0;
  d = (((n << 10) | (n >>> 22)) + a) | 0;
  n = (c + (a ^ (d | ~b)) + x10 - 1051523) | 0;
  c = (((n << 15) | (n >>> 17)) + d) | 0;
  n = (b + (d ^ (c | ~a)) + x1 - 2054922799) | 0;
  b = (((n << 21) | (n >>> 11)) + c) | 0;
  n = (a + (c ^ (b | ~d)) + x8 + 1873313359) | 0;
  a = (((n << 6) | (n >>> 26)) + b) | 0;
  n = (d + (b ^ (a | ~c)) + x15 - 30611744) | 0;
  d = (((n << 10) | (n >>> 22)) + a) | 0;
  n = (c + (a ^ (d | ~b)) + x6 - 1560198380) | 0;
  c = (((n << 15) | (n >>> 17)) + d) | 0;
  n = (b + (d ^ (c | ~a)) + x13 + 1309151649) | 0;
  b = (((n << 21) | (n >>> 11)) + c) | 0;
  n = (a + (c ^ (b | ~d)) + x4 - 145523070) | 0;
  a = (((n << 6) | (n >>> 26)) + b) | 0;

  return (a + 0x67452301) >>> 0;
}
