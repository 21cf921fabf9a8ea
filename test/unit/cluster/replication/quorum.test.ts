import { expect } from 'chai';
import {
  atLeastHalf,
  majority,
  overHalf,
  prepareQuorum,
  requiredReplicas,
  roundWriteQuorum,
  type ReplicationSettings,
} from '../../../../src/cluster/replication/quorum';
import type { Consistency } from '../../../../src/cluster/replication/operation';

describe('majority', () => {
  const cases: [number, number][] = [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ];
  for (const [factor, expected] of cases) {
    it(`is ${expected} of ${factor} replicas`, () => {
      expect(majority(factor)).to.equal(expected);
    });
  }
});

describe('prepareQuorum', () => {
  // [N, W, replicas read]: with W + read > N every set of W acknowledging replicas meets the prepare.
  const cases: [number, number, number][] = [
    [3, 2, 2],
    [3, 3, 1],
    [3, 1, 3],
    [5, 3, 3],
    [5, 2, 4],
    [1, 1, 1],
  ];
  for (const [factor, w, expected] of cases) {
    it(`reads ${expected} of N=${factor} replicas before a round acknowledged by W=${w}`, () => {
      const read = prepareQuorum(w, { factor, writeQuorum: w, readQuorum: 1 });
      expect(read).to.equal(expected);
      expect(read + w, 'W + prepare > N').to.be.above(factor);
    });
  }
});

describe('requiredReplicas', () => {
  type Row = [consistency: Consistency, kind: 'read' | 'write', rep: ReplicationSettings, expected: number];
  const rep = (factor: number, writeQuorum: number, readQuorum: number): ReplicationSettings => ({
    factor,
    writeQuorum,
    readQuorum,
  });
  const table: Row[] = [
    // The default cluster: N=3 W=2 R=1.
    ['default', 'write', rep(3, 2, 1), 2],
    ['default', 'read', rep(3, 2, 1), 1],
    ['one', 'write', rep(3, 2, 1), 1],
    ['one', 'read', rep(3, 2, 1), 1],
    ['quorum', 'write', rep(3, 2, 1), 2],
    ['quorum', 'read', rep(3, 2, 1), 2],
    ['all', 'write', rep(3, 2, 1), 3],
    ['all', 'read', rep(3, 2, 1), 3],
    // N=5 W=3 R=2.
    ['default', 'write', rep(5, 3, 2), 3],
    ['default', 'read', rep(5, 3, 2), 2],
    ['quorum', 'read', rep(5, 3, 2), 3],
    ['all', 'write', rep(5, 3, 2), 5],
    // A single node.
    ['default', 'write', rep(1, 1, 1), 1],
    ['quorum', 'read', rep(1, 1, 1), 1],
    ['all', 'write', rep(1, 1, 1), 1],
    // Configured quorums outside [1, N] are clamped.
    ['default', 'write', rep(3, 7, 1), 3],
    ['default', 'read', rep(3, 2, 9), 3],
    ['default', 'write', rep(3, 0, 1), 1],
    ['default', 'read', rep(3, 2, 0), 1],
    // An unknown wire value is read as 'default' at the server edge: test/unit/server/operation-wire.test.ts.
  ];
  for (const [consistency, kind, settings, expected] of table) {
    it(`needs ${expected} for a ${consistency} ${kind} with N=${settings.factor} W=${settings.writeQuorum} R=${settings.readQuorum}`, () => {
      expect(requiredReplicas(consistency, kind, settings)).to.equal(expected);
    });
  }
});

/** N, W and R. */
const settingsOf = (factor: number, writeQuorum: number, readQuorum: number): ReplicationSettings => ({
  factor,
  writeQuorum,
  readQuorum,
});

describe('roundWriteQuorum (the W of a read-modify-write round)', () => {
  const table: [readonly Consistency[], ReplicationSettings, number][] = [
    [[], settingsOf(3, 2, 1), 2],
    [['default', 'one'], settingsOf(3, 2, 1), 2], // never below the configured W
    [['default', 'all'], settingsOf(3, 2, 1), 3], // one call at ALL raises the whole round
    [['quorum'], settingsOf(5, 2, 1), 3],
    [['all'], settingsOf(3, 7, 1), 3], // clamped to N
  ];
  for (const [consistencies, settings, expected] of table) {
    it(`is ${expected} for [${consistencies.join(', ')}] with N=${settings.factor} W=${settings.writeQuorum}`, () => {
      expect(roundWriteQuorum(consistencies, settings)).to.equal(expected);
    });
  }
});

describe('overHalf and atLeastHalf (majorities of a set of members)', () => {
  const table: [number, number, boolean, boolean][] = [
    // count, total, overHalf, atLeastHalf
    [0, 0, false, true],
    [1, 2, false, true],
    [2, 2, true, true],
    [1, 3, false, false],
    [2, 3, true, true],
    [2, 4, false, true],
    [3, 4, true, true],
  ];
  for (const [count, total, over, half] of table) {
    it(`${count} of ${total}: over half ${over}, at least half ${half}`, () => {
      expect([overHalf(count, total), atLeastHalf(count, total)]).to.deep.equal([over, half]);
    });
  }
});
