import { expect } from 'chai';
import {
  isNotCaughtUpPacked,
  lookupFromPacked,
  lookupToPacked,
  NOT_CAUGHT_UP_PACKED,
  writeFromPacked,
  writeToPacked,
} from '../../../src/server/packed-operations';
import type { ValueFlags } from '../../../src/store/types';

/** A catching-up replica's answer on the Read stream, as new and old askers read it. */
describe('the packed "catching up" answer', () => {
  const record = {
    value: Buffer.from('v'),
    flags: 0 as ValueFlags,
    version: { timestamp: 5, node: 'n1' },
    expiresAtMs: 0,
    tombstone: false,
  };

  it('is told apart from a record, an absent key and a prepare answer', () => {
    expect(isNotCaughtUpPacked(NOT_CAUGHT_UP_PACKED)).to.equal(true);
    expect(isNotCaughtUpPacked([])).to.equal(false);
    expect(isNotCaughtUpPacked(writeToPacked({ key: 'k', record }))).to.equal(false);
    expect(isNotCaughtUpPacked(lookupToPacked('k', { record: undefined, known: [] }))).to.equal(false);
    expect(isNotCaughtUpPacked(14)).to.equal(false);
  });

  it('reads as unreadable, never as "absent" or a granted prepare, on an asker that predates it', () => {
    expect(writeFromPacked(NOT_CAUGHT_UP_PACKED)).to.equal(undefined);
    expect(lookupFromPacked(NOT_CAUGHT_UP_PACKED)).to.equal(undefined);
  });
});
