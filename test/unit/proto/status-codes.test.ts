import { expect } from 'chai';
import { RingCacheError, type ErrorCode } from '../../../src/errors';
import { Code } from '../../../src/proto/messages';
import { errorFromWire, toCodeAndMessage, wireCodeOf } from '../../../src/proto/status-codes';

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
  WIRE_INCOMPATIBLE: Code.FAILED_PRECONDITION,
  UNAUTHENTICATED: Code.UNAUTHENTICATED,
  PERMISSION_DENIED: Code.PERMISSION_DENIED,
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

describe('errorFromWire', () => {
  it('returns a RingCacheError carrying the node’s message', () => {
    const err = errorFromWire(Code.NOT_FOUND, "key 'k' not found", 'NOT_FOUND');
    expect(err).to.be.instanceOf(RingCacheError);
    expect(err.message).to.equal("key 'k' not found");
  });

  it('gives back every error code a node sends by name, as the node meant it', () => {
    for (const code of allCodes) {
      expect(errorFromWire(wireCodeOf[code], 'm', code).code, code).to.equal(code);
    }
  });

  it('prefers the error name over the code, even when the code suggests something else', () => {
    for (const code of allCodes) {
      // A code that by itself would map elsewhere, so only the name can produce `code`.
      const misleading = code === 'UNAVAILABLE' ? Code.INVALID_ARGUMENT : Code.UNAVAILABLE;
      expect(errorFromWire(misleading, 'm', code).code, code).to.equal(code);
    }
  });

  const fallbacks: [string, number, ErrorCode][] = [
    ['INVALID_ARGUMENT', Code.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['RESOURCE_EXHAUSTED', Code.RESOURCE_EXHAUSTED, 'OUT_OF_MEMORY'],
    ['FAILED_PRECONDITION', Code.FAILED_PRECONDITION, 'VERSION_CONFLICT'],
    ['NOT_FOUND', Code.NOT_FOUND, 'NOT_FOUND'],
    ['UNAVAILABLE', Code.UNAVAILABLE, 'UNAVAILABLE'],
    ['CANCELLED', Code.CANCELLED, 'UNAVAILABLE'],
    ['DEADLINE_EXCEEDED', Code.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED'],
    ['ABORTED', Code.ABORTED, 'ABORTED'],
    ['UNAUTHENTICATED', Code.UNAUTHENTICATED, 'UNAUTHENTICATED'],
    ['INTERNAL', Code.INTERNAL, 'INTERNAL'],
    ['UNKNOWN', Code.UNKNOWN, 'INTERNAL'],
    ['UNIMPLEMENTED', Code.UNIMPLEMENTED, 'INTERNAL'],
    ['PERMISSION_DENIED', Code.PERMISSION_DENIED, 'PERMISSION_DENIED'],
  ];
  for (const [name, wire, code] of fallbacks) {
    it(`falls back to ${code} for code ${name} sent with no error name`, () => {
      expect(errorFromWire(wire, 'm', undefined).code).to.equal(code);
      expect(errorFromWire(wire, 'm', '').code).to.equal(code);
    });
  }

  it('falls back by code when the name is one it does not know', () => {
    expect(errorFromWire(Code.UNAVAILABLE, 'm', 'SOMETHING_NEW').code).to.equal('UNAVAILABLE');
    expect(errorFromWire(Code.OUT_OF_RANGE, 'm', 'SOMETHING_NEW').code).to.equal('INTERNAL');
  });

  it('does not take a name that differs only in case', () => {
    expect(errorFromWire(Code.UNAVAILABLE, 'm', 'key_too_large').code).to.equal('UNAVAILABLE');
  });

  it('falls back to an error whose own wire code is the code received', () => {
    for (const [name, wire] of fallbacks) {
      if (wire === Code.CANCELLED) continue; // a cancelled call is reported as the node being unavailable
      const code = errorFromWire(wire, 'm', undefined).code;
      if (code !== 'INTERNAL') expect(wireCodeOf[code], name).to.equal(wire);
    }
  });
});
