import { expect } from 'chai';
import { FLUSH_VERSION_NODE, FlushFences, MAX_FLUSH_FENCES } from '../../../src/store/flush-fences';
import { LOGICAL_TICKS_PER_MS } from '../../../src/store/hlc';
import type { StoreRecord } from '../../../src/store/types';
import { compareVersions, type Version } from '../../../src/store/version';
import { makeStore, utf8 } from './fake-clock';

const NOW = 1_700_000_000_000;
const at = (ms: number, node = 'n2'): Version => ({ timestamp: (NOW + ms) * LOGICAL_TICKS_PER_MS, node });
const live = (text: string, version: Version): StoreRecord => ({
  value: utf8(text),
  flags: 1,
  version,
  expiresAtMs: 0,
  tombstone: false,
});

describe("Store.fencePrefix (a flush's share on one node)", () => {
  it('deletes the keys under the prefix written up to the fence, and keeps later ones and other prefixes', () => {
    const { store } = makeStore();
    store.applyRecord('f:old', live('a', at(10)));
    store.applyRecord('f:new', live('b', at(30)));
    store.applyRecord('g:old', live('c', at(10)));
    expect(store.fencePrefix('f:', at(20).timestamp)).to.equal(1);
    expect(store.get('f:old'), 'written before the fence').to.equal(undefined);
    expect(store.get('f:new')?.value.toString()).to.equal('b');
    expect(store.get('g:old')?.value.toString()).to.equal('c');
  });

  it('writes its tombstones at one version, the fence plus one tick, which any later write beats', () => {
    const { store } = makeStore();
    store.applyRecord('f:k', live('a', at(10)));
    const fence = at(20).timestamp;
    store.fencePrefix('f:', fence);
    const tombstone = store.readRecord('f:k')!;
    expect(tombstone).to.include({ tombstone: true });
    expect(tombstone.version).to.deep.equal({ timestamp: fence + 1, node: FLUSH_VERSION_NODE });
    // Another member's write right after its own share of the flush: at fence + 1 at least.
    expect(compareVersions({ timestamp: fence + 1, node: '-' }, tombstone.version)).to.equal(1);
    const next = store.set('f:k', utf8('b'), 1).version!;
    expect(compareVersions(next, tombstone.version), "this node's next write").to.equal(1);
    expect(store.get('f:k')?.value.toString()).to.equal('b');
  });

  it('refuses a late copy of a write made up to the fence, of a key it never held, for a tombstone grace', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 60_000 });
    store.fencePrefix('f:', at(20).timestamp);
    expect(store.applyRecord('f:late', live('a', at(15))), 'a copy on its way during the flush').to.equal(
      false,
    );
    expect(store.get('f:late')).to.equal(undefined);
    expect(store.applyRecord('f:after', live('b', at(25))), 'written after the fence').to.equal(true);
    expect(store.applyRecord('g:late', live('c', at(15))), 'another prefix').to.equal(true);
    clock.advance(60_001);
    expect(store.applyRecord('f:later', live('d', at(15))), 'past the grace').to.equal(true);
  });
});

describe('FlushFences', () => {
  it('keeps the higher fence of a prefix flushed twice', () => {
    const fences = new FlushFences();
    fences.add('f', 100, 5000);
    fences.add('f', 50, 6000);
    expect(fences.covers('f1', 100, 5500)).to.equal(true);
    expect(fences.covers('f1', 101, 5500)).to.equal(false);
  });

  it(`holds at most ${MAX_FLUSH_FENCES}, dropping the one that ends first`, () => {
    const fences = new FlushFences();
    for (let i = 0; i < MAX_FLUSH_FENCES; i++) fences.add(`p${i}:`, 100, 10_000 + i);
    fences.add('q:', 100, 20_000);
    expect(fences.size).to.equal(MAX_FLUSH_FENCES);
    expect(fences.covers('p0:k', 1, 0), 'the first to end').to.equal(false);
    expect(fences.covers('p1:k', 1, 0)).to.equal(true);
    expect(fences.covers('q:k', 1, 0)).to.equal(true);
  });
});
