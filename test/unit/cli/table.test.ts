import { expect } from 'chai';
import { printableKey } from '../../../src/cli/table';

describe('keys printed to a terminal', () => {
  it('prints a plain key as it is, unicode included', () => {
    expect(printableKey('user:1')).to.equal('user:1');
    expect(printableKey('café ☕')).to.equal('café ☕');
  });

  it('quotes a key holding control characters, so an escape sequence shows instead of running', () => {
    expect(printableKey('a\u001b[2Jb')).to.equal('"a\\u001b[2Jb"');
    expect(printableKey('line\nbreak')).to.equal('"line\\nbreak"');
    expect(printableKey('c1\u009bx\u007f')).to.equal('"c1\\u009bx\\u007f"');
  });
});
