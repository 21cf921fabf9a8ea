import { expect } from 'chai';
import { parseDuration } from '../../../src/cli/duration';
import { expectError } from '../../support/expect-error';

describe('CLI durations (--ttl, --interval)', () => {
  it('reads a number with its unit, and 0', () => {
    expect(parseDuration('500ms', '--ttl')).to.equal(500);
    expect(parseDuration('30s', '--ttl')).to.equal(30_000);
    expect(parseDuration('1.5m', '--ttl')).to.equal(90_000);
    expect(parseDuration('2h', '--ttl')).to.equal(7_200_000);
    expect(parseDuration('1d', '--ttl')).to.equal(86_400_000);
    expect(parseDuration('0', '--ttl')).to.equal(0);
  });

  it('refuses a bare number, saying how to write seconds and milliseconds', () => {
    expectError(
      () => parseDuration('5', '--ttl'),
      'INVALID_ARGUMENT',
      /--ttl: "5" has no unit; write 5s .* or 5ms/,
    );
  });

  it('refuses what is not a duration', () => {
    expectError(() => parseDuration('5 minutes', '--ttl'), 'INVALID_ARGUMENT', /expected a duration like/);
    expectError(() => parseDuration('-1s', '--ttl'), 'INVALID_ARGUMENT', /expected a duration like/);
  });
});
