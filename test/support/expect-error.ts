import { expect } from 'chai';
import { isRingCacheError, type ErrorCode } from '../../src/errors';

/** Asserts that `fn` throws a RingCacheError with `code` (and a message matching `message`, if given). */
export function expectError(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isRingCacheError(err, code), `expected ${code}, got ${String(err)}`).to.equal(true);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${code}, nothing was thrown`);
}
