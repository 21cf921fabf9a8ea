import { expect } from 'chai';
import fc from 'fast-check';
import { EntryTable } from '../../../src/store/entry-table';

/**
 * EntryTable counts the slots that have an expiry (values with a TTL, tombstones) so that a sweep
 * with nothing to visit costs nothing. The count must always equal what the slots hold: one too low
 * would leave expired values and tombstones unswept for good.
 */
describe('EntryTable: slots with an expiry', () => {
  type Op =
    | { kind: 'put'; key: string; ttl: number; size: number }
    | { kind: 'tombstone'; key: string }
    | { kind: 'touch'; key: string; ttl: number }
    | { kind: 'remove'; key: string }
    | { kind: 'advance'; ms: number }
    | { kind: 'read'; key: string }
    | { kind: 'sweep' }
    | { kind: 'limit'; bytes: number };
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
  const ttl = fc.constantFrom(0, 0, 10, 50);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key, ttl, size: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ kind: fc.constant('tombstone' as const), key }),
    fc.record({ kind: fc.constant('touch' as const), key, ttl }),
    fc.record({ kind: fc.constant('remove' as const), key }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 80 }) }),
    fc.record({ kind: fc.constant('read' as const), key }),
    fc.constant({ kind: 'sweep' as const }),
    fc.record({ kind: fc.constant('limit' as const), bytes: fc.integer({ min: 600, max: 4000 }) }),
  );

  it('always equals the count of slots in use with an expiry, through writes, expiry, sweeps and eviction', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const table = new EntryTable(4000, 100, 1000);
        let now = 1_000_000;
        let ts = 1;
        for (const o of ops) {
          const slot = 'key' in o ? table.slotOf(o.key) : undefined;
          try {
            switch (o.kind) {
              case 'put':
                table.put(
                  o.key,
                  1,
                  slot,
                  Buffer.alloc(o.size),
                  0,
                  { timestamp: ts++, node: 'n1' },
                  o.ttl ? now + o.ttl : 0,
                  false,
                  now,
                );
                break;
              case 'tombstone':
                table.putTombstone(o.key, 1, slot, { timestamp: ts++, node: 'n1' }, now + 100, now);
                break;
              case 'touch':
                if (slot !== undefined && table.isLive(slot, now))
                  table.setExpiresAtMs(slot, o.ttl ? now + o.ttl : 0);
                break;
              case 'remove':
                if (slot !== undefined) table.remove(slot);
                break;
              case 'advance':
                now += o.ms;
                break;
              case 'read':
                if (slot !== undefined) table.isLive(slot, now);
                break;
              case 'sweep':
                table.sweep(now, () => false);
                break;
              case 'limit':
                table.setLimit(o.bytes, now);
                break;
            }
          } catch {
            // OUT_OF_MEMORY for an entry that cannot fit: nothing changed.
          }
          let counted = 0;
          for (const [, s] of table.entries()) if (table.expiresAtMs(s) !== 0) counted++;
          expect(table.expiring, JSON.stringify(o)).to.equal(counted);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('sweeps expired values and purges tombstones, and with none left has nothing to visit', () => {
    const table = new EntryTable(10_000, 100, 1000);
    const now = 1_000_000;
    table.put('a', 1, undefined, Buffer.from('x'), 0, { timestamp: 1, node: 'n1' }, now + 10, false, now);
    table.put('b', 1, undefined, Buffer.from('y'), 0, { timestamp: 2, node: 'n1' }, 0, false, now);
    expect(table.expiring).to.equal(1);
    expect(
      table.sweep(now + 20, () => false),
      'a expired',
    ).to.equal(1);
    expect(table.expiring, 'its tombstone').to.equal(1);
    expect(
      table.sweep(now + 200, () => false),
      'its tombstone purged',
    ).to.equal(1);
    expect(table.expiring).to.equal(0);
    expect(table.sweep(now + 300, () => false)).to.equal(0);
    expect(table.live).to.equal(1);
  });
});

describe('EntryTable.sweepSlots', () => {
  const filled = (ttlMs: number) => {
    const table = new EntryTable(64 << 20, 1000);
    for (let i = 0; i < 5000; i++) {
      table.put(
        `k${i}`,
        2 + String(i).length,
        undefined,
        Buffer.from('v'),
        0,
        { timestamp: i + 1, node: 'n1' },
        ttlMs,
        false,
        0,
      );
    }
    return table;
  };

  it('stops when out of time, at a multiple of 1024 slots, and says how many it went through', () => {
    const table = filled(10);
    const { swept, visited } = table.sweepSlots(100_000, () => true, 4000);
    expect(visited, 'slots visited').to.equal(1024);
    expect(swept, 'entries purged among them').to.equal(1024);
  });

  it('goes through at most the slots asked, and through the whole table once they add up to it', () => {
    const table = filled(10);
    const visits: number[] = [];
    for (let visited = 0; visited < 5000;) {
      visits.push(table.sweepSlots(100_000, () => false, 2000).visited);
      visited += visits.at(-1)!;
    }
    expect(visits, 'slots visited per call').to.deep.equal([2000, 2000, 2000]);
    expect(table.live + table.tombstones, 'entries left').to.equal(0);
  });

  it('says it went through everything when nothing in the table expires', () => {
    expect(filled(0).sweepSlots(100_000, () => false, 10).visited).to.equal(Infinity);
  });
});
