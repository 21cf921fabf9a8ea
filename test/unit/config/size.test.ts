import { expect } from 'chai';
import { parseSize } from '../../../src/config/size';

describe('parseSize', () => {
  it('reads binary units, bare numbers as bytes, any case and spacing', () => {
    const cases: [string | number, number][] = [
      [1048576, 1048576],
      ['100b', 100],
      ['100', 100],
      ['512kb', 524288],
      ['256mb', 268435456],
      ['1gb', 1073741824],
      ['2GB', 2147483648],
      ['64 MB', 67108864],
      ['1.5kb', 1536],
      ['1k', 1024],
      ['3mib', 3145728],
      ['1tb', 1024 ** 4],
    ];
    for (const [text, bytes] of cases)
      expect(parseSize(text, 'limits.max_memory'), String(text)).to.equal(bytes);
  });

  it('refuses what is not a whole number of bytes, naming the field', () => {
    for (const text of ['', 'lots', '-1', '1.5', '0.1b', '12 parsecs', '1e3kb', -5, 1.5, Number.NaN]) {
      expect(() => parseSize(text, 'limits.max_memory'), String(text)).to.throw(/^limits\.max_memory: /);
    }
    expect(() => parseSize('256 megs', 'limits.max_memory')).to.throw(
      'limits.max_memory: expected a size in bytes such as 1048576, 512kb, 256mb or 1gb, got "256 megs"',
    );
  });
});
