import { expect } from 'chai';
import { compareVersions, formatVersion, type Version } from '../../../src/store/version';

describe('compareVersions', () => {
  const v = (timestamp: number, node: string): Version => ({ timestamp, node });
  const table: [Version, Version, number][] = [
    [v(1, 'a'), v(2, 'a'), -1],
    [v(2, 'a'), v(1, 'a'), 1],
    [v(5, 'n1'), v(5, 'n1'), 0],
    [v(5, 'n1'), v(5, 'n2'), -1],
    [v(5, 'n2'), v(5, 'n1'), 1],
    [v(4, 'z'), v(5, 'a'), -1], // the timestamp decides before the node id
    [v(5, 'n10'), v(5, 'n9'), -1], // plain string order, not numeric
  ];
  for (const [a, b, want] of table) {
    it(`orders ${formatVersion(a)} against ${formatVersion(b)} as ${want}`, () => {
      expect(compareVersions(a, b)).to.equal(want);
      expect(compareVersions(b, a)).to.equal(-want || 0);
    });
  }
});
