import { expect } from 'chai';
import { errorFromWire, isRetryable } from '../../../src/client/wire-errors';
import { RingCacheError, type ErrorCode } from '../../../src/errors';
import { Code } from '../../../src/proto/messages';
import { wireCodeOf } from '../../../src/proto/status-codes';

const allCodes = Object.keys(wireCodeOf) as ErrorCode[];

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
    ['INTERNAL', Code.INTERNAL, 'INTERNAL'],
    ['UNKNOWN', Code.UNKNOWN, 'INTERNAL'],
    ['UNIMPLEMENTED', Code.UNIMPLEMENTED, 'INTERNAL'],
    ['PERMISSION_DENIED', Code.PERMISSION_DENIED, 'INTERNAL'],
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

describe('isRetryable', () => {
  const retryable = new Set<number>([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.CANCELLED]);

  for (const [name, code] of Object.entries(Code)) {
    const yes = retryable.has(code);
    it(`${yes ? 'retries' : 'does not retry'} ${name} on another replica`, () => {
      expect(isRetryable(code)).to.equal(yes);
    });
  }

  it('retries the wire codes of node failures but not those of request errors', () => {
    for (const code of ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'QUORUM_NOT_MET', 'SHUTTING_DOWN'] as const) {
      expect(isRetryable(wireCodeOf[code]), code).to.equal(true);
    }
    for (const code of [
      'INVALID_ARGUMENT',
      'VERSION_CONFLICT',
      'NOT_FOUND',
      'OUT_OF_MEMORY',
      'INTERNAL',
    ] as const) {
      expect(isRetryable(wireCodeOf[code]), code).to.equal(false);
    }
  });
});
