import { expect } from 'chai';
import type { Version } from '../../src/store/version';
import type { FinalState, HistoryEntry, HistoryKind } from './history';
import { realTimeOrder } from './real-time-order';

const v = (timestamp: number, node = 'n1'): Version => ({ timestamp, node });

function entry(kind: HistoryKind, id: number, atMs: number, more: Partial<HistoryEntry>): HistoryEntry {
  return {
    ...{ id, kind, key: 'k', node: 'n1', required: 2, factor: 3 },
    ...{ invokedAtMs: atMs, completedAtMs: atMs + 5, status: 'ok' },
    ...more,
  };
}
const set = (id: number, atMs: number, version: Version) =>
  entry('set', id, atMs, { value: `v${id}`, version });
const del = (id: number, atMs: number, version: Version) => entry('delete', id, atMs, { version });
const finalRead = (read: { found: boolean; version?: Version }): FinalState => ({
  reads: new Map([['k', read]]),
  replicas: new Map(),
  counters: new Map(),
});

describe('the real-time order checker', () => {
  const check = realTimeOrder(500);
  const cases: Array<[what: string, history: HistoryEntry[], final: FinalState, violations: number]> = [
    [
      'a set sent 600 ms after another was acknowledged, whose version lost to it (a clock 2 s fast)',
      [set(1, 0, v(2_000, 'n3')), set(2, 605, v(605, 'n1'))],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      1,
    ],
    [
      'the same writes, the later one winning',
      [set(1, 0, v(0, 'n3')), set(2, 605, v(605, 'n1'))],
      finalRead({ found: true, version: v(605, 'n1') }),
      0,
    ],
    [
      'a set sent within the bound after the other: may be ordered either way',
      [set(1, 0, v(2_000, 'n3')), set(2, 300, v(300, 'n1'))],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      0,
    ],
    [
      'a delete undone by an earlier set whose version was ahead',
      [set(1, 0, v(2_000, 'n3')), del(2, 1_000, v(1_000, 'n1'))],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      1,
    ],
    [
      'a later set lost to an earlier delete whose version was ahead',
      [del(1, 0, v(2_000, 'n3')), set(2, 1_000, v(1_000, 'n1'))],
      finalRead({ found: false }),
      1,
    ],
    [
      'a later delete that won: not found is right',
      [set(1, 0, v(0, 'n3')), del(2, 1_000, v(1_000, 'n1'))],
      finalRead({ found: false }),
      0,
    ],
    [
      'a later set that expired before the final read, above the delete: ordered right',
      [del(1, 0, v(0, 'n3')), entry('set', 2, 1_000, { value: 'v2', version: v(1_000, 'n1'), ttlMs: 100 })],
      finalRead({ found: false }),
      0,
    ],
    [
      'a later set of unknown outcome below the earlier write: nothing acknowledged to order',
      [set(1, 0, v(2_000, 'n3')), entry('set', 2, 1_000, { status: 'unknown', version: v(1_000, 'n1') })],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      0,
    ],
    [
      'a later ifAbsent set that stored nothing',
      [set(1, 0, v(2_000, 'n3')), entry('set', 2, 1_000, { stored: false, version: v(1_000, 'n1') })],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      0,
    ],
    [
      'a pair ordered against real time, though a third write replaced both: still a broken order',
      [set(1, 0, v(2_000, 'n3')), set(2, 1_000, v(1_000, 'n1')), set(3, 5_000, v(5_000, 'n2'))],
      finalRead({ found: true, version: v(5_000, 'n2') }),
      1,
    ],
    [
      'a cas and an incr sent past the bound, each below the write before it',
      [
        set(1, 0, v(2_000, 'n3')),
        entry('cas', 2, 1_000, { expected: v(2_000, 'n3'), version: v(1_000, 'n1') }),
        entry('incr', 3, 0, { key: 'c', version: v(3_000, 'n3'), counter: 1 }),
        entry('incr', 4, 1_000, { key: 'c', version: v(1_500, 'n1'), counter: 2 }),
      ],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      2,
    ],
    [
      'a later write given the very version of the earlier one',
      [set(1, 0, v(700, 'n1')), set(2, 1_000, v(700, 'n1'))],
      finalRead({ found: true, version: v(700, 'n1') }),
      1,
    ],
    [
      'a write sent within the stamps’ resolution past the bound',
      [set(1, 0, v(2_000, 'n3')), set(2, 505.5, v(505, 'n1'))],
      finalRead({ found: true, version: v(2_000, 'n3') }),
      0,
    ],
  ];
  for (const [what, history, final, count] of cases) {
    it(`${count ? 'reports' : 'accepts'} ${what}`, () => {
      const violations = check(history, final);
      expect(violations, JSON.stringify(violations)).to.have.length(count);
      if (count) expect(violations[0]?.message).to.match(/more than the clock bound of 500 ms after/);
    });
  }
});
