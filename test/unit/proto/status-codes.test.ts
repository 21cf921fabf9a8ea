import { expect } from 'chai';
import { RingCacheError, type ErrorCode } from '../../../src/errors';
import { Code } from '../../../src/proto/messages';
import { toCodeAndMessage, wireCodeOf } from '../../../src/proto/status-codes';

/** Every ErrorCode with the google.rpc.Code we promise for it; the type fails the build when a code is added. */
const expected: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: Code.INVALID_ARGUMENT,
  KEY_TOO_LARGE: Code.INVALID_ARGUMENT,
  VALUE_TOO_LARGE: Code.INVALID_ARGUMENT,
  OUT_OF_MEMORY: Code.RESOURCE_EXHAUSTED,
  VERSION_CONFLICT: Code.FAILED_PRECONDITION,
  NOT_AN_INTEGER: Code.FAILED_PRECONDITION,
  NOT_FOUND: Code.NOT_FOUND,
  QUORUM_NOT_MET: Code.UNAVAILABLE,
  UNAVAILABLE: Code.UNAVAILABLE,
  DEADLINE_EXCEEDED: Code.DEADLINE_EXCEEDED,
  SHUTTING_DOWN: Code.UNAVAILABLE,
  CONFIG_INVALID: Code.INVALID_ARGUMENT,
  ABORTED: Code.ABORTED,
  INTERNAL: Code.INTERNAL,
};
const allCodes = Object.keys(expected) as ErrorCode[];

describe('wireCodeOf', () => {
  it('maps exactly the error codes of src/errors.ts', () => {
    expect(Object.keys(wireCodeOf)).to.have.members(allCodes);
  });

  for (const code of allCodes) {
    it(`maps ${code} to google.rpc.Code ${expected[code]}`, () => {
      expect(wireCodeOf[code]).to.equal(expected[code]);
    });
  }

  it('never maps an error to OK', () => {
    for (const code of allCodes) expect(wireCodeOf[code], code).to.not.equal(Code.OK);
  });
});

describe('toCodeAndMessage', () => {
  it('passes a RingCacheError’s code, message and name through without calling onBug', () => {
    let bugs = 0;
    const got = toCodeAndMessage(
      new RingCacheError('KEY_TOO_LARGE', 'key is 2000 bytes; limits.max_key_bytes is 1024'),
      () => bugs++,
    );
    expect(got).to.deep.equal({
      code: Code.INVALID_ARGUMENT,
      message: 'key is 2000 bytes; limits.max_key_bytes is 1024',
      error: 'KEY_TOO_LARGE',
    });
    expect(bugs).to.equal(0);
  });

  it('reports anything else to onBug and shows the caller only INTERNAL, never its message', () => {
    const seen: unknown[] = [];
    const bug = new TypeError('secret detail');
    const got = toCodeAndMessage(bug, (err) => seen.push(err));
    expect(seen).to.deep.equal([bug]);
    expect(got.code).to.equal(Code.INTERNAL);
    expect(got.error).to.equal('INTERNAL');
    expect(got.message).to.not.contain('secret');
  });

  it('treats a thrown non-Error as a bug too', () => {
    const seen: unknown[] = [];
    expect(toCodeAndMessage('oops', (err) => seen.push(err)).code).to.equal(Code.INTERNAL);
    expect(seen).to.deep.equal(['oops']);
  });
});
