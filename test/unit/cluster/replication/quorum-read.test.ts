import { expect } from 'chai';
import { newestOf } from '../../../../src/cluster/replication/quorum-read';
import type { StoreRecord } from '../../../../src/store/types';

function rec(timestamp: number, node: string, tombstone = false): StoreRecord {
  return {
    value: tombstone ? Buffer.alloc(0) : Buffer.from(`${timestamp}@${node}`),
    flags: 0,
    version: { timestamp, node },
    expiresAtMs: 0,
    tombstone,
  };
}

/** The record of the copy newestOf picks. */
const newestRecord = (copies: Parameters<typeof newestOf>[0]) => newestOf(copies)?.record;

describe('newestOf', () => {
  it('is undefined when no replica holds the key', () => {
    expect(newestRecord([])).to.equal(undefined);
    expect(
      newestRecord([
        { replica: 'n1', record: undefined },
        { replica: 'n2', record: undefined },
      ]),
    ).to.equal(undefined);
  });

  it('picks the copy with the highest timestamp wherever it sits', () => {
    const newest = rec(30, 'n2');
    for (const order of [
      [rec(10, 'n1'), newest, rec(20, 'n3')],
      [newest, rec(10, 'n1'), rec(20, 'n3')],
      [rec(10, 'n1'), rec(20, 'n3'), newest],
    ]) {
      expect(newestRecord(order.map((record, i) => ({ replica: `r${i}`, record })))).to.equal(newest);
    }
  });

  it('lets a newer tombstone win over an older value, so a delete stays deleted', () => {
    const deleted = rec(20, 'n1', true);
    const got = newestRecord([
      { replica: 'n1', record: rec(10, 'n2') },
      { replica: 'n2', record: deleted },
    ]);
    expect(got).to.equal(deleted);
    expect(got!.tombstone).to.equal(true);
  });

  it('lets a newer value win over an older tombstone', () => {
    const rewritten = rec(30, 'n1');
    expect(
      newestRecord([
        { replica: 'n1', record: rec(20, 'n2', true) },
        { replica: 'n2', record: rewritten },
      ]),
    ).to.equal(rewritten);
  });

  it('breaks a timestamp tie by the higher node id, whatever the order', () => {
    const fromN3 = rec(50, 'n3');
    const fromN1 = rec(50, 'n1');
    expect(
      newestRecord([
        { replica: 'a', record: fromN1 },
        { replica: 'b', record: fromN3 },
      ]),
    ).to.equal(fromN3);
    expect(
      newestRecord([
        { replica: 'a', record: fromN3 },
        { replica: 'b', record: fromN1 },
      ]),
    ).to.equal(fromN3);
  });

  it('skips replicas that hold nothing', () => {
    const only = rec(1, 'n1');
    expect(
      newestRecord([
        { replica: 'n1', record: undefined },
        { replica: 'n2', record: only },
        { replica: 'n3', record: undefined },
      ]),
    ).to.equal(only);
  });
});
