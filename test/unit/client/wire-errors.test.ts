import { expect } from 'chai';
import { errorFromWire, isRetryable } from '../../../src/client/wire-errors';
import { Code } from '../../../src/proto/messages';
import { errorFromWire as errorFromWireOfProto, wireCodeOf } from '../../../src/proto/status-codes';

describe('the SDK’s errorFromWire', () => {
  it('is the wire protocol’s own, re-exported (tested in test/unit/proto/status-codes.test.ts)', () => {
    expect(errorFromWire).to.equal(errorFromWireOfProto);
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
