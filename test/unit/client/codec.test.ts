import { expect } from 'chai';
import { decodeValue, encodeValue } from '../../../src/client/codec';
import { isRingCacheError } from '../../../src/errors';
import { ValueFlags } from '../../../src/proto/messages';

function roundTrip(value: unknown): unknown {
  const { value: bytes, flags } = encodeValue(value);
  return decodeValue(bytes, flags);
}

function refusal(value: unknown): Error {
  try {
    encodeValue(value);
  } catch (err) {
    expect(
      isRingCacheError(err, 'INVALID_ARGUMENT'),
      `expected INVALID_ARGUMENT, got ${String(err)}`,
    ).to.equal(true);
    return err as Error;
  }
  return expect.fail('expected INVALID_ARGUMENT, nothing was thrown');
}

describe('client codec', () => {
  describe('strings', () => {
    it('are stored as UTF-8 with flags UTF8 (1)', () => {
      const encoded = encodeValue('héllo ☃');
      expect(encoded.flags).to.equal(ValueFlags.UTF8).and.to.equal(1);
      expect(encoded.value.equals(Buffer.from('héllo ☃', 'utf8'))).to.equal(true);
    });

    it('come back as the same string, the empty string included', () => {
      expect(roundTrip('héllo ☃')).to.equal('héllo ☃');
      expect(roundTrip('')).to.equal('');
    });
  });

  describe('bytes', () => {
    it('store a Buffer as is with flags RAW (0)', () => {
      const buf = Buffer.from([1, 2, 3]);
      const encoded = encodeValue(buf);
      expect(encoded.flags).to.equal(ValueFlags.RAW).and.to.equal(0);
      expect(encoded.value).to.equal(buf);
    });

    it('store only the bytes a Uint8Array view covers, with flags RAW', () => {
      const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
      const encoded = encodeValue(view);
      expect(encoded.flags).to.equal(ValueFlags.RAW);
      expect([...encoded.value]).to.deep.equal([1, 2, 3]);
    });

    it('come back as a Buffer with the same bytes', () => {
      const back = roundTrip(new Uint8Array([7, 8]));
      expect(Buffer.isBuffer(back)).to.equal(true);
      expect([...(back as Buffer)]).to.deep.equal([7, 8]);
    });
  });

  describe('other values', () => {
    it('are stored as msgpack with flags MSGPACK (2)', () => {
      for (const value of [null, 0, -1.5, true, [1], { a: 1 }]) {
        expect(encodeValue(value).flags, JSON.stringify(value)).to.equal(ValueFlags.MSGPACK).and.to.equal(2);
      }
    });

    it('round-trip numbers, booleans and null', () => {
      for (const value of [null, 0, 42, -7, 1.5, Number.MAX_SAFE_INTEGER, -(2 ** 40), true, false]) {
        expect(roundTrip(value)).to.equal(value);
      }
    });

    it('round-trip nested objects and arrays', () => {
      const value = { a: [1, [2, [3, { b: 'c' }]]], d: { e: { f: null } }, g: [] };
      expect(roundTrip(value)).to.deep.equal(value);
    });

    it('round-trip a Date as a Date', () => {
      const back = roundTrip({ at: new Date(1_700_000_000_123) }) as { at: unknown };
      expect(back.at).to.be.instanceOf(Date);
      expect((back.at as Date).getTime()).to.equal(1_700_000_000_123);
    });

    it('round-trip bytes nested in an object', () => {
      const back = roundTrip({ b: Buffer.from([1, 2]) }) as { b: Uint8Array };
      expect([...back.b]).to.deep.equal([1, 2]);
    });

    // msgpack maps decode as plain objects (the record extension is off so any msgpack reader can decode the
    // bytes): a Map's entries survive, but it comes back as an object with string keys.
    it('return a Map as a plain object holding its entries', () => {
      expect(
        roundTrip(
          new Map<unknown, unknown>([
            ['a', 1],
            [2, 'b'],
          ]),
        ),
      ).to.deep.equal({ a: 1, '2': 'b' });
    });

    it('decode msgpack bytes that another writer produced', () => {
      // {"k": [1, "x"]} written by hand: fixmap(1), fixstr "k", fixarray(2), 1, fixstr "x"
      const bytes = Buffer.from([0x81, 0xa1, 0x6b, 0x92, 0x01, 0xa1, 0x78]);
      expect(decodeValue(bytes, ValueFlags.MSGPACK)).to.deep.equal({ k: [1, 'x'] });
    });

    it('hand back the raw bytes for an unknown flags value', () => {
      const bytes = Buffer.from('abc');
      expect(decodeValue(bytes, 9)).to.equal(bytes);
    });
  });

  describe('refusals', () => {
    it('refuse undefined at the top level, pointing at delete() and null', () => {
      expect(refusal(undefined).message).to.match(/value is undefined; use delete\(\).*null/);
    });

    it('refuse a function and name where it sits', () => {
      expect(refusal({ a: { b: () => 1 } }).message).to.equal(
        'value.a.b is a function; functions cannot be stored',
      );
      expect(refusal(() => 1).message).to.match(/^value is a function/);
    });

    it('refuse a symbol in an array and name its index', () => {
      expect(refusal([1, 2, Symbol('x')]).message).to.equal('value[2] is a symbol; symbols cannot be stored');
    });

    it('refuse a function inside a Map and name its key', () => {
      expect(refusal({ m: new Map([['k', () => 1]]) }).message).to.match(/^value\.m\.get\(k\) is a function/);
    });

    it('refuse a circular object as nested more than 64 levels', () => {
      const loop: Record<string, unknown> = {};
      loop.self = loop;
      const message = refusal(loop).message;
      expect(message).to.contain('nested more than 64 levels');
      expect(message).to.match(/^value(\.self)+ is nested/);
    });

    it('accept nesting 64 levels deep and refuse 65', () => {
      const nest = (levels: number): unknown => {
        let v: unknown = 1;
        for (let i = 0; i < levels; i++) v = [v];
        return v;
      };
      expect(encodeValue(nest(64)).flags).to.equal(ValueFlags.MSGPACK);
      expect(refusal(nest(65)).message).to.contain('nested more than 64 levels');
    });
  });
});
