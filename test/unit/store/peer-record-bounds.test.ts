import { expect } from 'chai';
import { isRingCacheError } from '../../../src/errors';
import { LOGICAL_TICKS_PER_MS } from '../../../src/store/hlc';
import type { StoreRecord } from '../../../src/store/types';
import { MAX_TTL_MS } from '../../../src/store/validation';
import type { Version } from '../../../src/store/version';
import { makeStore, utf8 } from './fake-clock';

const NOW = 1_700_000_000_000;
const GRACE_MS = 60_000;
const OFFSET_MS = 5000;
const v = (aheadMs: number, node = 'n2'): Version => ({
  timestamp: (NOW + aheadMs) * LOGICAL_TICKS_PER_MS,
  node,
});
const live = (version: Version, expiresAtMs = 0): StoreRecord => ({
  value: utf8('peer'),
  flags: 1,
  version,
  expiresAtMs,
  tombstone: false,
});
const tombstone = (version: Version, expiresAtMs: number): StoreRecord => ({
  value: Buffer.alloc(0),
  flags: 0,
  version,
  expiresAtMs,
  tombstone: true,
});

/** The error code applyRecord throws, or 'applied' / 'kept older'. */
function outcome(apply: () => boolean): string {
  try {
    return apply() ? 'applied' : 'kept older';
  } catch (err) {
    return isRingCacheError(err) ? err.code : String(err);
  }
}

describe('Store refuses peer records no node of the cluster could have made', () => {
  it('refuses by default a version 50 s ahead of its clock (the default max_clock_offset_ms is 5 s)', () => {
    const { store } = makeStore();
    expect(outcome(() => store.applyRecord('k', live(v(50_000))))).to.equal('INVALID_ARGUMENT');
    expect(outcome(() => store.applyRecord('k', live(v(5001))))).to.equal('INVALID_ARGUMENT');
    expect(store.readRecord('k')).to.equal(undefined);
    expect(store.refusedInputs.get('version_ahead')).to.equal(2);
    // Ordinary skew is taken: a peer 500 ms ahead.
    expect(outcome(() => store.applyRecord('k', live(v(500))))).to.equal('applied');
  });

  // [what, record, outcome]: expiries bounded by now + grace (tombstone) or the longest TTL (value), + offset.
  // prettier-ignore
  const table: [string, StoreRecord, string][] = [
    ['a tombstone kept for the grace', tombstone(v(1), NOW + GRACE_MS), 'applied'],
    ['a tombstone from a peer at the clock offset', tombstone(v(1), NOW + GRACE_MS + OFFSET_MS), 'applied'],
    ['a tombstone 1 ms beyond that', tombstone(v(1), NOW + GRACE_MS + OFFSET_MS + 1), 'INVALID_ARGUMENT'],
    ['a tombstone kept until 2100', tombstone(v(1), Date.UTC(2100, 0, 1)), 'INVALID_ARGUMENT'],
    ['a tombstone with no purge time (the local grace)', tombstone(v(1), 0), 'applied'],
    ['a value with no expiry', live(v(1), 0), 'applied'],
    ['a value at the longest TTL from a peer at the offset', live(v(1), NOW + MAX_TTL_MS + OFFSET_MS), 'applied'],
    ['a value beyond the longest TTL', live(v(1), NOW + MAX_TTL_MS + OFFSET_MS + 1), 'INVALID_ARGUMENT'],
  ];
  for (const [what, record, expected] of table) {
    it(`${expected === 'applied' ? 'takes' : 'refuses'} ${what}`, () => {
      const { store } = makeStore({ tombstoneGraceMs: GRACE_MS, maxClockOffsetMs: OFFSET_MS });
      expect(outcome(() => store.applyRecord('k', record))).to.equal(expected);
      if (expected === 'applied') return;
      expect(store.readRecord('k')).to.equal(undefined);
      expect(store.hlc.last).to.equal(0);
      const reason = record.tombstone ? 'tombstone_expiry' : 'value_expiry';
      expect(store.refusedInputs.get(reason)).to.equal(1);
    });
  }

  it('leaves the held record as it was when it refuses a newer one', () => {
    const { store } = makeStore({ tombstoneGraceMs: GRACE_MS, maxClockOffsetMs: OFFSET_MS });
    store.set('k', utf8('mine'), 1);
    const held = store.readRecord('k');
    expect(outcome(() => store.applyRecord('k', tombstone(v(10), Date.UTC(2100, 0, 1))))).to.equal(
      'INVALID_ARGUMENT',
    );
    expect(outcome(() => store.applyRecord('k', live(v(50_000))))).to.equal('INVALID_ARGUMENT');
    expect(store.readRecord('k')).to.deep.equal(held);
  });

  it('checks a ballot against the clock offset (checkPeerVersion)', () => {
    const { store } = makeStore({ maxClockOffsetMs: OFFSET_MS });
    expect(() => store.checkPeerVersion('ballot', v(OFFSET_MS))).to.not.throw();
    expect(() => store.checkPeerVersion('ballot', v(50_000))).to.throw(/ballot|ahead/);
  });
});
