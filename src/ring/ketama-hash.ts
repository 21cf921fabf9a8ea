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

// The four MD5 round functions, one step each (RFC 1321 3.4). Small enough for V8 to inline.
function ff(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + ((b & c) | (~b & d)) + x + t) | 0;
  return (((n << s) | (n >>> (32 - s))) + b) | 0;
}
function gg(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + ((b & d) | (c & ~d)) + x + t) | 0;
  return (((n << s) | (n >>> (32 - s))) + b) | 0;
}
function hh(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + (b ^ c ^ d) + x + t) | 0;
  return (((n << s) | (n >>> (32 - s))) + b) | 0;
}
function ii(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + (c ^ (b | ~d)) + x + t) | 0;
  return (((n << s) | (n >>> (32 - s))) + b) | 0;
}

/**
 * MD5 of the single padded block in `block` holding `len` message bytes; returns only the first
 * digest word (A). A is last assigned in step 61 of 64, so steps 62-64 (which only change D, C and B)
 * are skipped.
 */
// prettier-ignore
function md5WordA(len: number): number {
  putByte(len, 0x80);
  const x = block;
  const x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!, x4 = x[4]!, x5 = x[5]!, x6 = x[6]!, x7 = x[7]!;
  const x8 = x[8]!, x9 = x[9]!, x10 = x[10]!, x11 = x[11]!, x12 = x[12]!, x13 = x[13]!, x15 = x[15]!;
  const x14 = len << 3; // bit length, low word; the high word (x15) stays 0 for <= 55 bytes
  let a = 0x67452301, b = 0xefcdab89 | 0, c = 0x98badcfe | 0, d = 0x10325476;

  a = ff(a, b, c, d, x0, 7, -680876936); d = ff(d, a, b, c, x1, 12, -389564586);
  c = ff(c, d, a, b, x2, 17, 606105819); b = ff(b, c, d, a, x3, 22, -1044525330);
  a = ff(a, b, c, d, x4, 7, -176418897); d = ff(d, a, b, c, x5, 12, 1200080426);
  c = ff(c, d, a, b, x6, 17, -1473231341); b = ff(b, c, d, a, x7, 22, -45705983);
  a = ff(a, b, c, d, x8, 7, 1770035416); d = ff(d, a, b, c, x9, 12, -1958414417);
  c = ff(c, d, a, b, x10, 17, -42063); b = ff(b, c, d, a, x11, 22, -1990404162);
  a = ff(a, b, c, d, x12, 7, 1804603682); d = ff(d, a, b, c, x13, 12, -40341101);
  c = ff(c, d, a, b, x14, 17, -1502002290); b = ff(b, c, d, a, x15, 22, 1236535329);

  a = gg(a, b, c, d, x1, 5, -165796510); d = gg(d, a, b, c, x6, 9, -1069501632);
  c = gg(c, d, a, b, x11, 14, 643717713); b = gg(b, c, d, a, x0, 20, -373897302);
  a = gg(a, b, c, d, x5, 5, -701558691); d = gg(d, a, b, c, x10, 9, 38016083);
  c = gg(c, d, a, b, x15, 14, -660478335); b = gg(b, c, d, a, x4, 20, -405537848);
  a = gg(a, b, c, d, x9, 5, 568446438); d = gg(d, a, b, c, x14, 9, -1019803690);
  c = gg(c, d, a, b, x3, 14, -187363961); b = gg(b, c, d, a, x8, 20, 1163531501);
  a = gg(a, b, c, d, x13, 5, -1444681467); d = gg(d, a, b, c, x2, 9, -51403784);
  c = gg(c, d, a, b, x7, 14, 1735328473); b = gg(b, c, d, a, x12, 20, -1926607734);

  a = hh(a, b, c, d, x5, 4, -378558); d = hh(d, a, b, c, x8, 11, -2022574463);
  c = hh(c, d, a, b, x11, 16, 1839030562); b = hh(b, c, d, a, x14, 23, -35309556);
  a = hh(a, b, c, d, x1, 4, -1530992060); d = hh(d, a, b, c, x4, 11, 1272893353);
  c = hh(c, d, a, b, x7, 16, -155497632); b = hh(b, c, d, a, x10, 23, -1094730640);
  a = hh(a, b, c, d, x13, 4, 681279174); d = hh(d, a, b, c, x0, 11, -358537222);
  c = hh(c, d, a, b, x3, 16, -722521979); b = hh(b, c, d, a, x6, 23, 76029189);
  a = hh(a, b, c, d, x9, 4, -640364487); d = hh(d, a, b, c, x12, 11, -421815835);
  c = hh(c, d, a, b, x15, 16, 530742520); b = hh(b, c, d, a, x2, 23, -995338651);

  a = ii(a, b, c, d, x0, 6, -198630844); d = ii(d, a, b, c, x7, 10, 1126891415);
  c = ii(c, d, a, b, x14, 15, -1416354905); b = ii(b, c, d, a, x5, 21, -57434055);
  a = ii(a, b, c, d, x12, 6, 1700485571); d = ii(d, a, b, c, x3, 10, -1894986606);
  c = ii(c, d, a, b, x10, 15, -1051523); b = ii(b, c, d, a, x1, 21, -2054922799);
  a = ii(a, b, c, d, x8, 6, 1873313359); d = ii(d, a, b, c, x15, 10, -30611744);
  c = ii(c, d, a, b, x6, 15, -1560198380); b = ii(b, c, d, a, x13, 21, 1309151649);
  a = ii(a, b, c, d, x4, 6, -145523070);

  return (a + 0x67452301) >>> 0;
}
