import { expect } from 'chai';
import type { Version } from '../../src/store/version';
import {
  aroundFlushes,
  CHECKERS,
  casOnce,
  flushedWrites,
  checkAll,
  convergence,
  deletesUndone,
  expiredReads,
  formatViolations,
  casCurrent,
  ifAbsentOnce,
  increments,
  lostWrites,
  readsMatchWrites,
  oneRing,
  staleReads,
} from './checkers';
import { copyKey, type FinalState, type HistoryEntry, type HistoryKind, type ReplicaCopy } from './history';

const v = (timestamp: number, node = 'n1'): Version => ({ timestamp, node });

/** One operation on key 'k' at n1, W or R = 2 of N = 3, invoked at id*10 ms and answered 5 ms later. */
function entry(kind: HistoryKind, id: number, more: Partial<HistoryEntry>): HistoryEntry {
  return {
    ...{ id, kind, key: 'k', node: 'n1', required: 2, factor: 3 },
    ...{ invokedAtMs: id * 10, completedAtMs: id * 10 + 5, status: 'ok' },
    ...more,
  };
}
/** Still running at the end of the run (or timed out): no version, no completion. */
const unknown: Partial<HistoryEntry> = { status: 'unknown', completedAtMs: undefined, error: 'TIMEOUT' };

const set = (id: number, version: Version | undefined, more: Partial<HistoryEntry> = {}) =>
  entry('set', id, { value: `value-${id}`, version, ...more });
const del = (id: number, version: Version | undefined, more: Partial<HistoryEntry> = {}) =>
  entry('delete', id, { version, ...more });
const incr = (id: number, delta: number, more: Partial<HistoryEntry> = {}) =>
  entry('incr', id, { key: 'c', delta, ...more });
const cas = (id: number, expected: Version, version: Version, more: Partial<HistoryEntry> = {}) =>
  entry('cas', id, { expected, version, ...more });
/** A get that found `readVersion`, or found nothing when it is undefined. */
const get = (id: number, readVersion: Version | undefined, more: Partial<HistoryEntry> = {}) =>
  entry('get', id, { found: readVersion !== undefined, readVersion, ...more });
/** A touch that found the key, giving it `ttlMs` (0: no expiry). */
const touch = (id: number, ttlMs: number, more: Partial<HistoryEntry> = {}) =>
  entry('touch', id, { ttlMs, found: true, ...more });

interface FinalParts {
  /** Per key: the version the final quorum read found, or 'not found'. */
  reads?: Record<string, Version | 'not found'>;
  replicas?: Record<string, ReplicaCopy[]>;
  counters?: Record<string, number>;
}
function final({ reads = {}, replicas = {}, counters = {} }: FinalParts): FinalState {
  const read = (r: Version | 'not found') =>
    r === 'not found' ? { found: false } : { found: true, version: r };
  return {
    reads: new Map(Object.entries(reads).map(([key, r]) => [key, read(r)])),
    replicas: new Map(Object.entries(replicas)),
    counters: new Map(Object.entries(counters)),
  };
}
const messages = (violations: { message: string }[]) => violations.map((x) => x.message);

describe('lostWrites', () => {
  const history = [set(1, v(100)), set(2, v(200, 'n2'))];

  it('passes when the final read returns the newest acknowledged write', () => {
    expect(lostWrites(history, final({ reads: { k: v(200, 'n2') } }))).to.deep.equal([]);
  });

  it('passes when the final read returns a newer write that was never acknowledged', () => {
    expect(lostWrites([...history, set(3, undefined, unknown)], final({ reads: { k: v(300) } }))).to.be.empty;
  });

  it('reports a final read older than the newest acknowledged write, naming it', () => {
    expect(messages(lostWrites(history, final({ reads: { k: v(100) } })))).to.deep.equal([
      'final read returned 100@n1, older than set #2 (200@n2, W=2)',
    ]);
  });

  it('passes when nothing is found after a delete whose outcome is unknown (its node crashed mid-call)', () => {
    expect(lostWrites([...history, del(3, undefined, unknown)], final({ reads: { k: 'not found' } }))).to.be
      .empty;
  });

  it('reports nothing found when the only unknown delete is older than the newest acknowledged write', () => {
    const older = del(3, v(150), { status: 'unknown' });
    expect(lostWrites([...history, older], final({ reads: { k: 'not found' } }))).to.have.length(1);
  });

  it("passes nothing found when a time to live may have run out: the write's own, a touch's, a newer one's", () => {
    const check = (history: HistoryEntry[]) =>
      messages(lostWrites(history, final({ reads: { k: 'not found' } })));
    expect(check([set(1, v(100), { ttlMs: 500 })])).to.be.empty;
    expect(check([set(1, v(100)), touch(2, 300)])).to.be.empty;
    expect(check([set(1, v(100)), set(2, undefined, { ...unknown, ttlMs: 300 })])).to.be.empty;
    // Without a time to live, or from a set that stored nothing or failed, it is reported.
    expect(check([set(1, v(100)), touch(2, 0)])).to.have.length(1);
    expect(check([set(1, v(100)), set(2, v(100), { stored: false, ttlMs: 300 })])).to.have.length(1);
    const failed = { status: 'failed' as const, error: 'VALUE_TOO_LARGE', version: undefined, ttlMs: 300 };
    expect(check([set(1, v(100)), set(2, undefined, failed)])).to.have.length(1);
  });

  it('reports a key with acknowledged writes but no final read', () => {
    const violations = lostWrites(history, final({}));
    expect(violations).to.have.length(1);
    expect(violations[0]!.message).to.match(/^no final read/);
  });

  it('ignores an ok set that did not store', () => {
    const notStored = set(3, v(300), { stored: false });
    expect(lostWrites([...history, notStored], final({ reads: { k: v(200, 'n2') } }))).to.be.empty;
  });

  it('passes when the newest acknowledged write is a delete and the final read finds nothing', () => {
    expect(lostWrites([...history, del(3, v(300))], final({ reads: { k: 'not found' } }))).to.be.empty;
  });

  it('passes when a later unacknowledged write wins over an acknowledged delete', () => {
    const raced = [...history, del(3, v(300)), set(4, undefined, unknown)];
    expect(lostWrites(raced, final({ reads: { k: v(400) } }))).to.be.empty;
  });

  it('reports a value at or below an acknowledged delete coming back', () => {
    const violations = lostWrites([...history, del(3, v(300))], final({ reads: { k: v(200, 'n2') } }));
    expect(messages(violations)).to.deep.equal([
      'final read returned 200@n2, not newer than delete #3 (300@n1, W=2)',
    ]);
    expect(lostWrites([...history, del(3, v(300))], final({ reads: { k: v(300) } }))).to.have.length(1);
  });

  describe('a write acknowledged by one node alone (W = 1) whose node then crashed', () => {
    // Set #3 at n3, W = 1, invoked at 30 ms and made by n3 at 31 ms; n3 crashes at 40 ms. The final
    // read finds #2's value. `copiedAtMs`: when a copy of the set first reached another node (never,
    // when undefined).
    const one = set(3, v(300, 'n3'), { node: 'n3', required: 1 });
    const crashed = (
      copiedAtMs: number | undefined,
      node = 'n3',
      atMs = 40,
      copies: Array<[string, { madeAtMs?: number; copiedAtMs?: number }]> = [],
    ): FinalState => ({
      ...final({ reads: { k: v(200, 'n2') } }),
      crashes: [{ node, atMs }],
      copies: new Map([[copyKey('k', v(300, 'n3')), { madeAtMs: 31, copiedAtMs }], ...copies]),
    });

    it('passes when no copy of it had reached another node', () => {
      expect(lostWrites([...history, one], crashed(undefined))).to.be.empty;
      // Its copies were cut off on their way, whenever the links went down: after the node
      // acknowledged it, too (nemesis mix seeds 109,164 and 800,427).
      const gone = del(3, v(300, 'n3'), { node: 'n3', required: 1 });
      expect(deletesUndone([...history, gone], crashed(undefined))).to.be.empty;
    });

    it('reports it when a copy had reached another node, before the crash or after it', () => {
      expect(lostWrites([...history, one], crashed(35))).to.have.length(1);
      // A copy still on its way when the node crashed, which arrived after: the write lives on.
      expect(lostWrites([...history, one], crashed(60))).to.have.length(1);
      const gone = del(3, v(300, 'n3'), { node: 'n3', required: 1 });
      expect(deletesUndone([...history, gone], crashed(35))).to.have.length(1);
    });

    it('counts only a copy of that very version of that key', () => {
      const others: Array<[string, { copiedAtMs: number }]> = [
        [copyKey('k', v(301, 'n3')), { copiedAtMs: 35 }],
        [copyKey('other', v(300, 'n3')), { copiedAtMs: 35 }],
      ];
      expect(lostWrites([...history, one], crashed(undefined, 'n3', 40, others))).to.be.empty;
    });

    it('asks for a crash of the node that made the version, not of the node the client called', () => {
      // The client called n1, which forwarded the set to n3, its coordinator.
      const forwarded = set(3, v(300, 'n3'), { node: 'n1', required: 1 });
      expect(lostWrites([...history, forwarded], crashed(undefined, 'n3'))).to.be.empty;
      expect(lostWrites([...history, forwarded], crashed(undefined, 'n1'))).to.have.length(1);
    });

    it('reports it when another node crashed, or the write needed two acknowledgements', () => {
      expect(lostWrites([...history, one], crashed(undefined, 'n1'))).to.have.length(1);
      const two = set(3, v(300, 'n3'), { node: 'n3', required: 2 });
      expect(lostWrites([...history, two], crashed(undefined))).to.have.length(1);
    });

    it('reports it when the crash came before the write, or before its node made it', () => {
      expect(lostWrites([...history, one], crashed(undefined, 'n3', 20))).to.have.length(1);
      // Invoked at 30 ms; n3 crashed at 33 ms, and its next incarnation made the version at 35 ms.
      const late: Array<[string, { madeAtMs: number }]> = [[copyKey('k', v(300, 'n3')), { madeAtMs: 35 }]];
      expect(lostWrites([...history, one], crashed(undefined, 'n3', 33, late))).to.have.length(1);
    });

    it('excuses a read only after the crash and before a copy reached another node', () => {
      // R = 3 with W = 1: the get at 36 ms, before the crash at 40 ms, must see set #3.
      const early = get(4, v(200, 'n2'), { invokedAtMs: 36, completedAtMs: 38, required: 3 });
      const late = get(4, v(200, 'n2'), { invokedAtMs: 45, completedAtMs: 47, required: 3 });
      expect(staleReads([...history, one, early], crashed(undefined))).to.have.length(1);
      expect(staleReads([...history, one, late], crashed(undefined))).to.be.empty;
      // A copy on its way at the crash arrived at 50 ms: a read that began from then on must see it.
      expect(staleReads([...history, one, late], crashed(50))).to.be.empty;
      const later = get(5, v(200, 'n2'), { invokedAtMs: 55, completedAtMs: 57, required: 3 });
      expect(staleReads([...history, one, later], crashed(50))).to.have.length(1);
      expect(staleReads([...history, one, late], crashed(35))).to.have.length(1);
    });
  });
});

describe('deletesUndone', () => {
  const history = [set(1, v(100)), del(2, v(200))];

  it('passes when the deleted key stays deleted or a newer write replaced it', () => {
    expect(deletesUndone(history, final({ reads: { k: 'not found' } }))).to.be.empty;
    expect(deletesUndone(history, final({ reads: { k: v(300) } }))).to.be.empty;
  });

  it('reports a value older than an acknowledged delete coming back', () => {
    expect(messages(deletesUndone(history, final({ reads: { k: v(100) } })))).to.deep.equal([
      'final read returned 100@n1, older than delete #2 (200@n1, W=2)',
    ]);
  });
});

describe('convergence', () => {
  const check = (copies: ReplicaCopy[]) => convergence([], final({ replicas: { k: copies } }));

  it('passes when every replica holds the same version', () => {
    expect(check([1, 2, 3].map((i) => ({ node: `n${i}`, version: v(100), value: 'a' })))).to.be.empty;
  });

  it('treats a tombstone and a purged copy as the same settled state', () => {
    const copies = [{ node: 'n1', version: v(100), tombstone: true }, { node: 'n2' }];
    expect(check(copies)).to.be.empty;
  });

  it('reports which replica lags and what each holds', () => {
    const copies = [
      { node: 'n1', version: v(200) },
      { node: 'n2', version: v(200) },
      { node: 'n3', version: v(100) },
    ];
    expect(messages(check(copies))).to.deep.equal([
      'replicas differ: n1 holds 200@n1, n2 holds 200@n1, n3 holds 100@n1',
    ]);
  });

  it('reports a live value left beside a tombstone', () => {
    const copies = [
      { node: 'n1', version: v(200), tombstone: true },
      { node: 'n2', version: v(100) },
    ];
    expect(messages(check(copies))).to.deep.equal([
      'replicas differ: n1 holds nothing (tombstone 200@n1), n2 holds 100@n1',
    ]);
  });
});

describe('increments', () => {
  const acked = [incr(1, 2), incr(2, 3), incr(3, 10, { status: 'failed', error: 'NOT_AN_INTEGER' })];
  const withUnknown = [...acked, incr(4, 4, unknown), incr(5, 1, unknown)];
  const check = (history: HistoryEntry[], counter?: number) =>
    increments(history, final({ counters: counter === undefined ? {} : { c: counter } }));

  it('passes when the counter equals the acknowledged sum, ignoring failed increments', () => {
    expect(check(acked, 5)).to.be.empty;
  });

  it('lets unknown increments widen the upper bound', () => {
    for (const counter of [5, 6, 9, 10])
      expect(check(withUnknown, counter), `counter ${counter}`).to.be.empty;
  });

  it('reports a counter above the bound, by how much', () => {
    expect(messages(check(withUnknown, 12))).to.deep.equal([
      'final counter 12 is 2 above the most possible 10 = 5 acknowledged (incr #1, #2) + 5 unknown (incr #4, #5): ' +
        'an increment counted twice',
    ]);
  });

  it('reports a counter below the acknowledged sum, counting an absent counter as 0', () => {
    expect(messages(check(withUnknown, 4))).to.deep.equal([
      'final counter 4 is 1 below the 5 acknowledged (incr #1, #2): an acknowledged increment was lost',
    ]);
    expect(messages(check(acked))[0]).to.match(/^final counter 0 is 5 below/);
  });

  it('skips keys that are also set, deleted or cas-ed', () => {
    expect(check([...acked, set(6, v(100), { key: 'c' })], 0)).to.be.empty;
  });

  it('reports two acknowledged increments that returned the same value, even when the sum is right', () => {
    const twice = [incr(1, 1, { counter: 1 }), incr(2, 1, { counter: 1 }), incr(3, 1, { counter: 3 })];
    expect(messages(check(twice, 3))).to.deep.equal(['incr #1 and #2 both returned 1']);
    expect(check([incr(1, 1, { counter: 1 }), incr(2, 1, { counter: 2 })], 2)).to.be.empty;
  });

  it('judges returned values only where every delta is positive', () => {
    const back = [incr(1, 2, { counter: 2 }), incr(2, -1, { counter: 1 }), incr(3, 1, { counter: 2 })];
    expect(check(back, 2)).to.be.empty;
  });
});

describe('casOnce', () => {
  it('passes when each expected version has at most one successful cas', () => {
    const history = [
      cas(1, v(100), v(200)),
      cas(2, v(100), v(210), { status: 'failed', error: 'VERSION_CONFLICT' }),
      cas(3, v(100, 'n2'), v(220)),
      cas(4, v(100), v(230), { key: 'other' }),
    ];
    expect(casOnce(history, final({}))).to.be.empty;
  });

  it('reports two successful cas calls on one expected version', () => {
    const history = [cas(1, v(100), v(200)), cas(2, v(100), v(210))];
    expect(casOnce(history, final({}))).to.deep.equal([
      { checker: 'casOnce', key: 'k', message: 'cas #1, #2 all succeeded on expected version 100@n1' },
    ]);
  });
});

describe('staleReads', () => {
  const check = (history: HistoryEntry[]) => messages(staleReads(history, final({})));

  it('passes when a get returns the write acknowledged before it', () => {
    expect(check([set(1, v(100)), set(2, v(200)), get(3, v(200))])).to.be.empty;
  });

  it('reports a get older than a write acknowledged before it, naming both', () => {
    const history = [set(37, v(1700000100, 'n3')), get(41, v(1700000000), { node: 'n2' })];
    expect(check(history)).to.deep.equal([
      'get #41 at n2 (R=2) returned 1700000000@n1, older than set #37 acknowledged before it ' +
        '(1700000100@n3, W=2, N=3)',
    ]);
  });

  it('does not flag a get concurrent with a write', () => {
    expect(check([set(1, v(100)), set(2, v(200), { completedAtMs: 40 }), get(3, v(100))])).to.be.empty;
  });

  it('does not flag a get whose quorum need not overlap the write (W + R <= N)', () => {
    expect(check([set(1, v(100)), set(2, v(200)), get(3, v(100), { required: 1 })])).to.be.empty;
  });

  it('reports a get finding nothing when no delete could explain it', () => {
    const [message] = check([set(1, v(100)), get(2, undefined)]);
    expect(message).to.equal(
      'get #2 at n1 (R=2) found nothing, though no delete could have removed set #1 acknowledged before it ' +
        '(100@n1, W=2, N=3), nor a time to live have run out',
    );
  });

  it('lets a delete invoked before the get completed explain not-found, unless it failed before applying', () => {
    const racing = { invokedAtMs: 24 }; // the get runs from 20 to 25 ms
    expect(check([set(1, v(100)), get(2, undefined), del(3, undefined, { ...unknown, ...racing })])).to.be
      .empty;
    // QUORUM_NOT_MET is an unknown outcome in the simulator's history (run.ts): it may have applied.
    const missed = { status: 'unknown' as const, error: 'QUORUM_NOT_MET', ...racing };
    expect(check([set(1, v(100)), get(2, undefined), del(3, undefined, missed)])).to.be.empty;
    // A failure is a call refused before anything was applied (a bad key, no node to call).
    const refused = { status: 'failed' as const, error: 'INVALID_ARGUMENT', ...racing };
    expect(check([set(1, v(100)), get(2, undefined), del(3, undefined, refused)])).to.have.length(1);
  });

  it('does not let a delete known to be older than the write explain not-found', () => {
    expect(check([del(1, v(50)), set(2, v(100)), get(3, undefined)])).to.have.length(1);
  });

  it('does not let a delete invoked after the get completed explain not-found', () => {
    expect(check([set(1, v(100)), get(2, undefined), del(3, undefined, unknown)])).to.have.length(1);
  });

  it('when the latest acknowledged write is a delete, allows not-found and reports an older value', () => {
    expect(check([set(1, v(100)), del(2, v(200)), get(3, undefined)])).to.be.empty;
    expect(check([set(1, v(100)), del(2, v(200)), get(3, v(100))])[0]).to.match(/older than delete #2/);
  });

  it('lets a time to live that may have run out by the end of the get explain not-found, never an older value', () => {
    // The get runs from 30 to 35 ms.
    expect(check([set(1, v(100), { ttlMs: 25 }), set(2, v(50)), get(3, undefined)])).to.be.empty;
    expect(check([set(1, v(100), { ttlMs: 30 }), get(3, v(90))])[0]).to.match(/older than set #1/);
    // Its own, counted from its invocation (10 ms), has not run out by 35 ms.
    expect(check([set(1, v(100), { ttlMs: 30 }), get(3, undefined)])[0]).to.match(
      /nor a time to live have run out/,
    );
    // A newer write's, of any outcome but a failure, and a touch's.
    expect(check([set(1, v(100)), set(2, undefined, { ...unknown, ttlMs: 10 }), get(3, undefined)])).to.be
      .empty;
    expect(check([set(1, v(100)), touch(2, 10), get(3, undefined)])).to.be.empty;
    expect(check([set(1, v(100)), touch(2, 50), get(3, undefined)])).to.have.length(1);
  });

  it('ignores an ok set that did not store', () => {
    expect(check([set(1, v(100)), set(2, v(200), { stored: false }), get(3, v(100))])).to.be.empty;
  });

  it('does not judge a get counted on an older ring than the write, and judges every other', () => {
    const newRing = { ringEpoch: 5 };
    const oldRing = { ringEpoch: 4 };
    expect(check([set(1, v(100), oldRing), set(2, v(200), newRing), get(3, v(100), oldRing)])).to.be.empty;
    expect(check([set(1, v(200), newRing), get(2, undefined, oldRing)])).to.be.empty;
    // What the get's own ring held is still judged.
    expect(
      check([set(1, v(100), oldRing), set(2, v(200), newRing), get(3, undefined, oldRing)]),
    ).to.have.length(1);
    // On the same ring, a newer one, or with either epoch unknown (a node down), it is judged.
    for (const epoch of [{ ringEpoch: 5 }, { ringEpoch: 6 }, {}]) {
      expect(check([set(1, v(200), newRing), get(2, v(100), epoch)]), JSON.stringify(epoch)).to.have.length(
        1,
      );
    }
    expect(check([set(1, v(200)), get(2, v(100), { ringEpoch: 4 })])).to.have.length(1);
  });
});

describe('oneRing (issue 13 §3)', () => {
  const ring = (node: string, epoch: number, members: string[]) => ({
    node,
    epoch,
    digest: epoch * 7,
    members,
  });
  const judge = (rings: ReturnType<typeof ring>[], ringChanges: FinalState['ringChanges'] = []) =>
    oneRing([], { ...final({}), rings, ringChanges });

  it('passes nodes that hold one ring, and ignores nodes outside it (a failed join, a node that left)', () => {
    const members = ['n1', 'n2', 'n3'];
    expect(
      judge([ring('n1', 3, members), ring('n2', 3, members), ring('n3', 3, members), ring('n6', 1, ['n6'])]),
    ).to.be.empty;
  });

  it('reports a member on another ring, and an acknowledged leave the final ring undid', () => {
    const v = judge(
      [ring('n1', 2, ['n1', 'n2', 'n3']), ring('n3', 2, ['n2', 'n3'])],
      [{ kind: 'leave', node: 'n1', acknowledged: true }],
    );
    expect(v.map((x) => x.message)).to.have.length(2);
    expect(v[0]!.message).to.match(/n3 holds ring epoch 2 \[n2 n3\]/);
    expect(v[1]!.message).to.match(/acknowledged leave of n1 was undone/);
  });
});

describe('readsMatchWrites', () => {
  const check = (history: HistoryEntry[]) => messages(readsMatchWrites(history, final({})));
  /** A get that found `value` at `version`. */
  const found = (id: number, value: string, version: Version, more: Partial<HistoryEntry> = {}) =>
    get(id, version, { readValue: value, ...more });

  it('passes a value read back with the version its write was acknowledged with, or an unknown one', () => {
    expect(check([set(1, v(100)), found(2, 'value-1', v(100))])).to.be.empty;
    expect(check([set(1, undefined, unknown), found(2, 'value-1', v(120))])).to.be.empty;
  });

  it('reports a value read with another version than its write, one no write wrote, and one a failed write wrote', () => {
    expect(check([set(1, v(100)), found(2, 'value-1', v(90))])).to.deep.equal([
      'get #2 at n1 returned "value-1" (90@n1), but set #1 (100@n1, W=2) wrote it',
    ]);
    expect(check([set(1, v(100)), found(2, 'value-7', v(100))])).to.deep.equal([
      'get #2 at n1 returned "value-7" (100@n1), a value no write of the key wrote',
    ]);
    const refused = {
      status: 'failed' as const,
      error: 'VERSION_CONFLICT',
      version: undefined,
      value: 'value-1',
    };
    expect(check([cas(1, v(5), v(100), refused), found(2, 'value-1', v(100))])).to.deep.equal([
      'get #2 at n1 returned "value-1" (100@n1), written by cas #1, which failed VERSION_CONFLICT',
    ]);
  });

  it('passes a value read at a newer version a touch gave it, and reports one a set that stored nothing wrote', () => {
    expect(check([set(1, v(100)), touch(2, 500), found(3, 'value-1', v(150))])).to.be.empty;
    // No touch, a touch that found nothing, or an older version: reported.
    expect(check([set(1, v(100)), found(3, 'value-1', v(150))])).to.have.length(1);
    expect(
      check([set(1, v(100)), touch(2, 500, { found: false }), found(3, 'value-1', v(150))]),
    ).to.have.length(1);
    expect(check([set(1, v(100)), touch(2, 500), found(3, 'value-1', v(90))])).to.have.length(1);
    expect(
      check([set(1, v(100), { stored: false, mode: 'ifAbsent' }), found(2, 'value-1', v(100))]),
    ).to.deep.equal([
      'get #2 at n1 returned "value-1" (100@n1), written by set #1 (ifAbsent), which answered that it stored nothing',
    ]);
  });

  it("passes an older version of a read-modify-write's value read while it ran (a retry completed it anew)", () => {
    const lease = { mode: 'ifAbsent' as const, stored: true };
    // Set #1 runs from 10 to 15; the get begins at 12, the first round's record already there.
    expect(check([set(1, v(100), lease), found(2, 'value-1', v(90), { invokedAtMs: 12 })])).to.be.empty;
    // A get that began once it was answered, or a plain set, is judged as before.
    expect(check([set(1, v(100), lease), found(2, 'value-1', v(90))])).to.have.length(1);
    expect(check([set(1, v(100)), found(2, 'value-1', v(90), { invokedAtMs: 12 })])).to.have.length(1);
  });

  it('reports a value whose write was invoked only after the get completed', () => {
    expect(check([found(1, 'value-2', v(100)), set(2, v(100))])).to.have.length(1);
  });

  it("reads a counter's value at an increment's version as the value it returned", () => {
    const counter = { key: 'c' };
    const history = [incr(1, 2, { counter: 2, version: v(100) }), found(2, '2', v(100), counter)];
    expect(check(history)).to.be.empty;
    expect(check([history[0]!, found(2, '3', v(100), counter)])).to.deep.equal([
      'get #2 at n1 returned "3" (100@n1), but incr #1 made that version with the value 2',
    ]);
  });
});

describe('expiredReads', () => {
  const check = (history: HistoryEntry[]) => messages(expiredReads(history, final({})));
  const found = (id: number, value: string, version: Version, more: Partial<HistoryEntry> = {}) =>
    get(id, version, { readValue: value, ...more });

  it('reports a value read after its write completed plus its time to live', () => {
    // set #1 completes at 15 ms with 10 ms to live: expired by 25; the get is invoked at 30.
    expect(check([set(1, v(100), { ttlMs: 10 }), found(3, 'value-1', v(100))])).to.deep.equal([
      'get #3 at n1, invoked at 30, returned "value-1", which set #1 stored for 10 ms and so expired by 25',
    ]);
    expect(
      check([cas(1, v(5), v(100), { value: 'value-1', ttlMs: 10 }), found(3, 'value-1', v(100))]),
    ).to.have.length(1);
  });

  it("gives the clocks' slack: a value may expire that much late, or early", () => {
    const slack = { ...final({}), clockSlackMs: 10 };
    expect(expiredReads([set(1, v(100), { ttlMs: 10 }), found(3, 'value-1', v(100))], slack)).to.be.empty;
    expect(expiredReads([set(1, v(100), { ttlMs: 4 }), found(3, 'value-1', v(100))], slack)).to.have.length(
      1,
    );
    // The get runs from 30 to 35 ms; set #1, invoked at 10, has 30 ms to live: gone by 35 only early.
    const history = [set(1, v(100), { ttlMs: 30 }), get(3, undefined)];
    expect(staleReads(history, final({}))).to.have.length(1);
    expect(staleReads(history, slack)).to.be.empty;
  });

  it('counts the time to live of a write its client gave up on from when its writer stamped it', () => {
    // set #1 is given up on at 15 ms, so a node that held it may apply it later; its version's wall
    // millisecond (timestamp / 1024) says when at the latest. Stamped at 25 ms: live until 35.
    const gaveUp = { status: 'unknown' as const, error: 'DEADLINE_EXCEEDED', ttlMs: 10 };
    expect(check([set(1, undefined, gaveUp), found(3, 'value-1', v(25 * 1024))])).to.be.empty;
    // Stamped before it was given up on: expired by 25, as if acknowledged at 15.
    expect(check([set(1, undefined, gaveUp), found(3, 'value-1', v(12 * 1024))])).to.deep.equal([
      'get #3 at n1, invoked at 30, returned "value-1", which set #1 stored for 10 ms and so expired by 25',
    ]);
    // An acknowledged write was applied by its acknowledgement, whatever its version says.
    expect(check([set(1, v(25 * 1024), { ttlMs: 10 }), found(3, 'value-1', v(25 * 1024))])).to.have.length(1);
  });

  it('passes a read that may have come before the expiry, of a value with none, or after a touch that may have extended it', () => {
    expect(check([set(1, v(100), { ttlMs: 15 }), found(3, 'value-1', v(100))])).to.be.empty;
    expect(check([set(1, v(100)), found(3, 'value-1', v(100))])).to.be.empty;
    expect(check([set(1, v(100), { ttlMs: 10 }), touch(2, 0), found(3, 'value-1', v(150))])).to.be.empty;
    expect(check([set(1, v(100), { ttlMs: 10 }), touch(2, 5, unknown), found(3, 'value-1', v(150))])).to.be
      .empty;
    // A touch that failed, or whose own time to live ran out before the get: still reported.
    const failed = { status: 'failed' as const, error: 'INVALID_ARGUMENT' };
    expect(
      check([set(1, v(100), { ttlMs: 10 }), touch(2, 0, failed), found(3, 'value-1', v(100))]),
    ).to.have.length(1);
    expect(check([set(1, v(100), { ttlMs: 10 }), touch(2, 4), found(3, 'value-1', v(150))])).to.have.length(
      1,
    );
  });
});

describe('casCurrent', () => {
  const check = (history: HistoryEntry[]) => messages(casCurrent(history, final({})));

  it('passes a cas that expected the newest version acknowledged before it', () => {
    expect(check([set(1, v(100)), cas(2, v(100), v(200))])).to.be.empty;
    // A write concurrent with the cas may be ordered either way.
    expect(check([set(1, v(100)), set(2, v(150), { completedAtMs: 40 }), cas(3, v(100), v(200))])).to.be
      .empty;
  });

  it('reports a cas that succeeded on a version a write acknowledged before it had replaced', () => {
    expect(check([set(1, v(100)), set(2, v(150)), cas(3, v(100), v(200))])).to.deep.equal([
      'cas #3 succeeded expecting 100@n1, though set #2 (150@n1, W=2) was acknowledged before it',
    ]);
    expect(check([set(1, v(100)), del(2, v(150)), cas(3, v(100), v(200))])).to.have.length(1);
  });

  it('leaves out a write acknowledged by fewer replicas than the W of the cas (its prepare may miss it)', () => {
    expect(check([set(1, v(100)), set(2, v(150), { required: 1 }), cas(3, v(100), v(200))])).to.be.empty;
    expect(
      check([set(1, v(100)), set(2, v(150), { required: 1 }), cas(3, v(100), v(200), { required: 1 })]),
    ).to.have.length(1);
  });

  it('leaves out a write counted on a newer ring than the cas (the ring-change window)', () => {
    const history = [
      set(1, v(100)),
      set(2, v(150), { ringEpoch: 5 }),
      cas(3, v(100), v(200), { ringEpoch: 4 }),
    ];
    expect(check(history)).to.be.empty;
  });
});

describe('ifAbsentOnce', () => {
  const check = (history: HistoryEntry[], clockSlackMs = 0) =>
    messages(ifAbsentOnce(history, { ...final({}), clockSlackMs }));
  /** A set ifAbsent that stored its value (a lease taken), or answered that the key was present. */
  const lease = (id: number, version: Version | undefined, more: Partial<HistoryEntry> = {}) =>
    set(id, version, { mode: 'ifAbsent', stored: version !== undefined, ...more });

  it("reports a second lease taken while the first one's value was still there", () => {
    expect(check([lease(1, v(100)), lease(2, v(200))])).to.deep.equal([
      'set ifAbsent #2 stored "value-2" at n1, invoked at 20, though set #1 (100@n1, W=2) had stored "value-1" by 15 and nothing since can have removed it',
    ]);
    // Replaced by a plain set meanwhile, the key was present all the same; refused leases change nothing.
    expect(check([lease(1, v(100)), set(2, v(150)), lease(3, undefined), lease(4, v(200))])).to.have.length(
      1,
    );
    // Its time to live had not run out: it ends no sooner than 40 + 100 ms after its invocation.
    expect(check([lease(4, v(100), { ttlMs: 100 }), lease(10, v(200))])).to.have.length(1);
  });

  it('passes a lease taken after the first was deleted or could have expired', () => {
    expect(check([lease(1, v(100)), del(2, v(150)), lease(3, v(200))])).to.be.empty;
    // A delete of unknown outcome may have applied.
    expect(check([lease(1, v(100)), del(2, undefined, unknown), lease(3, v(200))])).to.be.empty;
    expect(check([lease(1, v(100), { ttlMs: 10 }), lease(3, v(200))])).to.be.empty;
    // A touch or a set with a time to live may have given the key one that ran out.
    expect(check([lease(1, v(100)), touch(2, 5), lease(3, v(200))])).to.be.empty;
    expect(check([lease(1, v(100)), set(2, v(150), { ttlMs: 5 }), lease(3, v(200))])).to.be.empty;
    // Invoked while the first's value was there, it may have taken effect as late as it completed.
    expect(check([lease(4, v(100), { ttlMs: 100 }), lease(10, v(200), { completedAtMs: 150 })])).to.be.empty;
    // On a node whose clock runs ahead it expires up to the clocks' slack sooner.
    expect(check([lease(4, v(100), { ttlMs: 100 }), lease(10, v(200))], 50)).to.be.empty;
  });

  it('passes leases that overlap in time, and leaves out what a prepare may not meet', () => {
    expect(check([lease(1, v(100)), lease(2, v(200), { invokedAtMs: 12 })])).to.be.empty;
    expect(check([lease(1, v(100), { required: 2 }), lease(2, v(200), { required: 3 })])).to.be.empty;
    expect(check([lease(1, v(100), { ringEpoch: 5 }), lease(2, v(200), { ringEpoch: 4 })])).to.be.empty;
  });
});

describe('flushes (flushedWrites, and what the other checkers see: aroundFlushes)', () => {
  /** A flush of every key starting with 'k', invoked at id*10 ms and answered 5 ms later. */
  const flush = (id: number, more: Partial<HistoryEntry> = {}) => entry('flush', id, more);
  const found = (id: number, w: HistoryEntry, more: Partial<HistoryEntry> = {}) =>
    get(id, w.version, { readValue: w.value, ...more });

  it('fails a read after an acknowledged flush that returns a write acknowledged before it began', () => {
    const w = set(1, v(100));
    expect(flushedWrites([w, flush(2), found(3, w)], final({})).map((x) => x.message)).to.deep.equal([
      "get #3 at n1 found value-1 of set #1, acknowledged before flush #2 of 'k' began",
    ]);
  });

  it('fails a replica that still holds such a write at the end', () => {
    const w = set(1, v(100));
    const replicas = { k: [{ node: 'n2', version: v(100), value: 'value-1' }] };
    expect(flushedWrites([w, flush(2)], final({ replicas }))).to.have.length(1);
  });

  it('passes reads of writes that overlapped the flush or came after it, and reads during it', () => {
    const during = set(2, v(100), { invokedAtMs: 15, completedAtMs: 30 });
    const after = set(4, v(200));
    const before = set(1, v(50));
    expect(flushedWrites([before, flush(2), during, found(5, during)], final({}))).to.be.empty;
    expect(flushedWrites([flush(2), after, found(5, after)], final({}))).to.be.empty;
    expect(flushedWrites([before, flush(2), found(2, before, { invokedAtMs: 22 })], final({}))).to.be.empty;
    // A flush of another prefix, or one not acknowledged, promises nothing.
    expect(flushedWrites([before, flush(2, { key: 'x' }), found(3, before)], final({}))).to.be.empty;
    expect(flushedWrites([before, flush(2, { status: 'unknown' }), found(3, before)], final({}))).to.be.empty;
  });

  it('shows the other checkers the writes a flush may have deleted as of unknown outcome, and no flush', () => {
    const history = [set(1, v(100)), flush(2), set(3, v(200)), get(4, undefined)];
    expect(aroundFlushes(history).map((e) => `${e.kind} #${e.id} ${e.status}`)).to.deep.equal([
      'set #1 unknown',
      'set #3 ok',
      'get #4 ok',
    ]);
    // Without it, lostWrites takes the flushed set for lost; with it, the set after the flush is judged.
    const state = final({ reads: { k: 'not found' } });
    expect(
      lostWrites(
        [set(1, v(100)), flush(2)].filter((e) => e.kind !== 'flush'),
        state,
      ),
    ).to.have.length(1);
    expect(lostWrites(aroundFlushes([set(1, v(100)), flush(2)]), state)).to.be.empty;
    expect(lostWrites(aroundFlushes(history), state)).to.have.length(1);
    // A flush refused at once (its node down) deleted nothing.
    expect(aroundFlushes([set(1, v(100)), flush(2, { status: 'failed' })])[0]!.status).to.equal('ok');
  });
});

describe('checkAll and formatViolations', () => {
  it('runs every checker and prints one line per violation', () => {
    expect(Object.keys(CHECKERS)).to.have.members([
      ...['lostWrites', 'deletesUndone', 'convergence', 'increments', 'casOnce', 'staleReads', 'oneRing'],
      ...['casCurrent', 'ifAbsentOnce', 'readsMatchWrites', 'expiredReads', 'realTimeOrder'],
    ]);
    const history = [set(1, v(100)), get(2, v(50)), incr(3, 2)];
    const state = final({ reads: { k: v(100) }, counters: { c: 3 } });
    expect(formatViolations(checkAll(history, state)).split('\n')).to.deep.equal([
      '[increments] c: final counter 3 is 1 above the most possible 2 = 2 acknowledged (incr #3) + 0 unknown: ' +
        'an increment counted twice',
      '[staleReads] k: get #2 at n1 (R=2) returned 50@n1, older than set #1 acknowledged before it (100@n1, W=2, N=3)',
    ]);
  });
});

describe('real-time order in checkAll', () => {
  // Set #2 is sent 5 ms after set #1 was acknowledged (at 15 ms), yet gets a lower version.
  const history = [set(1, v(900)), set(2, v(100))];
  const state = final({ reads: { k: v(900) } });
  const checkers = (s: FinalState) => checkAll(history, s).map((x) => x.checker);

  it("judges it with the run's clock bound, less a ms for the stamps' resolution", () => {
    expect(checkers({ ...state, clockBoundMs: 3 })).to.deep.equal(['realTimeOrder']);
  });

  it("judges it with the run's clock spread where that is below the bound", () => {
    expect(checkers({ ...state, clockBoundMs: 2000, clockSlackMs: 3 })).to.deep.equal(['realTimeOrder']);
    expect(checkers({ ...state, clockBoundMs: 2000, clockSlackMs: 4 })).to.deep.equal([]);
  });

  it('lets writes within the bound be ordered either way, and judges none in a state without one', () => {
    expect(checkers({ ...state, clockBoundMs: 4 })).to.deep.equal([]);
    expect(checkers(state)).to.deep.equal([]);
  });
});

describe('what an eviction excuses (promise 8)', () => {
  /** `k` (or `key`) evicted by n2 at `atMs`. */
  const evicted = (state: FinalState, atMs: number, key = 'k'): FinalState => ({
    ...state,
    evictions: [{ node: 'n2', key, atMs }],
  });

  it('excuses nothing found, at the end or by a read, only for a key evicted after its write', () => {
    const history = [set(1, v(100)), get(3, undefined)];
    const lost = final({ reads: { k: 'not found' } });
    expect(messages(lostWrites(history, lost))).to.have.length(1);
    expect(messages(staleReads(history, lost))).to.have.length(1);
    expect(lostWrites(history, evicted(lost, 20))).to.be.empty;
    expect(staleReads(history, evicted(lost, 20))).to.be.empty;
    // Evicted before the write was made, or another key evicted: the loss is unexplained.
    expect(messages(lostWrites(history, evicted(lost, 5)))).to.have.length(1);
    expect(messages(staleReads(history, evicted(lost, 20, 'other')))).to.have.length(1);
    // An eviction after the read ended explains the final read, not that read.
    expect(messages(staleReads(history, evicted(lost, 40)))).to.have.length(1);
  });

  it('excuses an older value read after a newer set only for a key evicted since, and never after a delete', () => {
    const history = [set(1, v(100)), set(2, v(200)), get(4, v(100))];
    const older = final({ reads: { k: v(100) } });
    expect(messages(staleReads(history, older))).to.have.length(1);
    expect(messages(lostWrites(history, older))).to.have.length(1);
    expect(staleReads(history, evicted(older, 30))).to.be.empty;
    expect(lostWrites(history, evicted(older, 30))).to.be.empty;
    expect(messages(staleReads(history, evicted(older, 30, 'other')))).to.have.length(1);
    const deleted = [set(1, v(100)), del(2, v(200)), get(4, v(100))];
    expect(messages(staleReads(deleted, evicted(older, 30)))).to.have.length(1);
    expect(messages(deletesUndone(deleted, evicted(older, 30)))).to.have.length(1);
    expect(messages(lostWrites(deleted, evicted(older, 30)))).to.have.length(1);
  });

  it('excuses replicas that differ, and a counter that lost increments or counts again, but never one counted twice', () => {
    const differ = {
      replicas: {
        k: [
          { node: 'n1', version: v(100) },
          { node: 'n2', version: undefined },
        ],
      },
    };
    expect(convergence([set(1, v(100))], final(differ))).to.have.length(1);
    expect(convergence([set(1, v(100))], evicted(final(differ), 20))).to.be.empty;
    const counted = [incr(1, 1, { counter: 1 }), incr(2, 1, { counter: 2 }), incr(3, 1, { counter: 1 })];
    expect(messages(increments(counted, final({ counters: { c: 1 } })))).to.have.length(2);
    expect(increments(counted, evicted(final({ counters: { c: 1 } }), 25, 'c'))).to.be.empty;
    // Evicted only after both had returned 1: that is an increment counted twice, not a restart.
    expect(messages(increments(counted, evicted(final({ counters: { c: 3 } }), 40, 'c')))).to.deep.equal([
      'incr #1 and #3 both returned 1',
    ]);
    expect(messages(increments(counted, evicted(final({ counters: { c: 4 } }), 25, 'c')))).to.deep.equal([
      'final counter 4 is 1 above the most possible 3 = 3 acknowledged (incr #1, #2, #3) + 0 unknown: an increment counted twice',
    ]);
  });

  it('excuses a delete undone only where some node let go of that delete’s own tombstone', () => {
    const history = [set(1, v(100)), del(2, v(200)), get(4, v(100))];
    const undone = final({ reads: { k: v(100) } });
    const dropped = (version: Version, key = 'k', atMs = 25): FinalState => ({
      ...undone,
      droppedTombstones: [{ node: 'n2', key, atMs, version }],
    });
    for (const check of [deletesUndone, lostWrites, staleReads]) {
      expect(messages(check(history, undone)), check.name).to.have.length(1);
      expect(check(history, dropped(v(200))), check.name).to.be.empty;
      expect(messages(check(history, dropped(v(200), 'other'))), `${check.name}: another key`).to.have.length(
        1,
      );
      expect(messages(check(history, dropped(v(150)))), `${check.name}: another version`).to.have.length(1);
    }
    // A later delete's tombstone explains that delete, not this one.
    const twice = [...history, del(5, v(500))];
    expect(messages(deletesUndone(twice, dropped(v(500), 'k', 55)))).to.deep.equal([
      'final read returned 100@n1, older than delete #2 (200@n1, W=2)',
    ]);
    // Dropped only after the get ended: it explains the final read, not that get.
    expect(messages(staleReads(history, dropped(v(200), 'k', 60)))).to.have.length(1);
  });

  it('excuses a delete undone where a node evicted a newer value, which had replaced its tombstone there', () => {
    const history = [set(1, v(100)), del(2, v(200)), set(3, v(300)), get(5, v(100))];
    const undone = final({ reads: { k: v(100) } });
    const evictedAt = (version: Version): FinalState => ({
      ...undone,
      evictions: [{ node: 'n2', key: 'k', atMs: 45, version }],
    });
    expect(staleReads(history, evictedAt(v(300)))).to.be.empty;
    expect(deletesUndone(history, evictedAt(v(300)))).to.be.empty;
    // The value the delete replaced, evicted: its tombstone still stands where it was kept.
    expect(messages(deletesUndone(history, evictedAt(v(100))))).to.have.length(1);
  });

  it('excuses an older value back after an expiry only where some node let go of that expiry’s tombstone', () => {
    // set #2 had a time to live that ran out: a tombstone at its version, which let no older value back.
    const history = [set(1, v(100)), set(2, v(200), { ttlMs: 5 }), get(4, v(100))];
    const back = final({ reads: { k: v(100) } });
    const dropped = (version: Version): FinalState => ({
      ...back,
      droppedTombstones: [{ node: 'n2', key: 'k', atMs: 25, version }],
    });
    for (const check of [lostWrites, staleReads]) {
      expect(messages(check(history, back)), check.name).to.have.length(1);
      expect(check(history, dropped(v(200))), check.name).to.be.empty;
      expect(messages(check(history, dropped(v(150)))), `${check.name}: another version`).to.have.length(1);
    }
  });

  it('excuses a second ifAbsent that stored only where the first one’s value was evicted meanwhile', () => {
    const lease = { mode: 'ifAbsent' as const, stored: true };
    const history = [set(1, v(100), lease), set(3, v(300), lease)];
    expect(messages(ifAbsentOnce(history, final({})))).to.have.length(1);
    expect(ifAbsentOnce(history, evicted(final({}), 20))).to.be.empty;
    expect(messages(ifAbsentOnce(history, evicted(final({}), 40)))).to.have.length(1);
  });
});
