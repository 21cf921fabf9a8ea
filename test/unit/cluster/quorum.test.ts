import { expect } from 'chai';
import { majority, requiredReplicas, type ReplicationSettings } from '../../../src/cluster/quorum';
import { ConsistencyWire } from '../../../src/proto/messages';

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

describe('requiredReplicas', () => {
  const { DEFAULT, ONE, QUORUM, ALL } = ConsistencyWire;
  const names: Record<number, string> = {
    [DEFAULT]: 'DEFAULT',
    [ONE]: 'ONE',
    [QUORUM]: 'QUORUM',
    [ALL]: 'ALL',
  };
  type Row = [consistency: number, kind: 'read' | 'write', rep: ReplicationSettings, expected: number];
  const rep = (factor: number, writeQuorum: number, readQuorum: number): ReplicationSettings => ({
    factor,
    writeQuorum,
    readQuorum,
  });
  const table: Row[] = [
    // The default cluster: N=3 W=2 R=1.
    [DEFAULT, 'write', rep(3, 2, 1), 2],
    [DEFAULT, 'read', rep(3, 2, 1), 1],
    [ONE, 'write', rep(3, 2, 1), 1],
    [ONE, 'read', rep(3, 2, 1), 1],
    [QUORUM, 'write', rep(3, 2, 1), 2],
    [QUORUM, 'read', rep(3, 2, 1), 2],
    [ALL, 'write', rep(3, 2, 1), 3],
    [ALL, 'read', rep(3, 2, 1), 3],
    // N=5 W=3 R=2.
    [DEFAULT, 'write', rep(5, 3, 2), 3],
    [DEFAULT, 'read', rep(5, 3, 2), 2],
    [QUORUM, 'read', rep(5, 3, 2), 3],
    [ALL, 'write', rep(5, 3, 2), 5],
    // A single node.
    [DEFAULT, 'write', rep(1, 1, 1), 1],
    [QUORUM, 'read', rep(1, 1, 1), 1],
    [ALL, 'write', rep(1, 1, 1), 1],
    // Configured quorums outside [1, N] are clamped.
    [DEFAULT, 'write', rep(3, 7, 1), 3],
    [DEFAULT, 'read', rep(3, 2, 9), 3],
    [DEFAULT, 'write', rep(3, 0, 1), 1],
    [DEFAULT, 'read', rep(3, 2, 0), 1],
    // An unknown wire value falls back to the configured quorum.
    [42, 'write', rep(3, 2, 1), 2],
    [42, 'read', rep(3, 2, 1), 1],
  ];
  for (const [consistency, kind, settings, expected] of table) {
    const name = names[consistency] ?? `unknown (${consistency})`;
    it(`needs ${expected} for a ${name} ${kind} with N=${settings.factor} W=${settings.writeQuorum} R=${settings.readQuorum}`, () => {
      expect(requiredReplicas(consistency, kind, settings)).to.equal(expected);
    });
  }
});
