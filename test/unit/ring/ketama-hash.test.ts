import { expect } from 'chai';
import fc from 'fast-check';
import HashRing from 'hashring';
import { internalsOf } from '../../../src/ring/continuum';
import { cryptoKetamaHash, ketamaHash } from '../../../src/ring/ketama-hash';

/** Any UTF-16 code unit, lone surrogates included: keys are JS strings, not valid Unicode. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

const reference = internalsOf(new HashRing(['n1'], 'md5'));

describe('ketamaHash', () => {
  it('equals hashring.hashValue on edge keys', () => {
    const edge = [
      '',
      'a',
      'abc',
      'user:1',
      'x'.repeat(55),
      'x'.repeat(56),
      'x'.repeat(200),
      'é'.repeat(27),
      'é'.repeat(28),
      '日'.repeat(18),
      '日'.repeat(19),
      '😀'.repeat(13),
      '😀'.repeat(14),
      '\ud800',
      '\udc00',
      'a\ud83d',
      '\ud83d\ude00\ud83d',
      '\u0000',
      '\u007f\u0080\u07ff\u0800\uffff',
      'x'.repeat(54) + 'é',
      'x'.repeat(53) + '日',
      'x'.repeat(52) + '😀',
      'toString',
      '__proto__',
    ];
    for (const key of edge) expect(ketamaHash(key), JSON.stringify(key)).to.equal(reference.hashValue(key));
  });

  it('equals hashring.hashValue on random unicode keys, lone surrogates included', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.string({ unit: codeUnit, maxLength: 40 }),
          fc.string(),
        ),
        (key) => {
          expect(ketamaHash(key)).to.equal(reference.hashValue(key));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('equals the node:crypto reference on every ASCII length across the one-block limit', () => {
    for (let len = 0; len <= 130; len++) {
      const key = Array.from({ length: len }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');
      expect(ketamaHash(key)).to.equal(cryptoKetamaHash(key));
    }
  });
});
