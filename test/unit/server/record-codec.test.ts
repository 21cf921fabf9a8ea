import { expect } from 'chai';
import { msgToRecord, recordToMsg } from '../../../src/server/record-codec';
import type { RecordMsg } from '../../../src/proto/messages';
import type { StoreRecord } from '../../../src/store/types';

const live: StoreRecord = {
  value: Buffer.from('hello'),
  flags: 1,
  version: { timestamp: 1_700_000_000_123, node: 'n2' },
  expiresAtMs: 1_700_000_060_000,
  tombstone: false,
};

const tombstone: StoreRecord = {
  value: Buffer.alloc(0),
  flags: 0,
  version: { timestamp: 42, node: 'n3' },
  expiresAtMs: 99,
  tombstone: true,
};

describe('record codec', () => {
  it('carries a live record through recordToMsg and back unchanged', () => {
    expect(msgToRecord(recordToMsg('k', live))).to.deep.equal(live);
  });

  it('carries a tombstone through recordToMsg and back unchanged', () => {
    expect(msgToRecord(recordToMsg('gone', tombstone))).to.deep.equal(tombstone);
  });

  it('names the key and the hinted target in the wire form', () => {
    const msg = recordToMsg('k', live, 'n5');
    expect(msg.key).to.equal('k');
    expect(msg.hintFor).to.equal('n5');
    expect(recordToMsg('k', live).hintFor).to.equal('');
  });

  it('copies the version rather than sharing the record’s object', () => {
    const msg = recordToMsg('k', live);
    expect(msg.version).to.deep.equal(live.version);
    expect(msg.version).to.not.equal(live.version);
  });

  it('refuses a message with no version', () => {
    const msg: RecordMsg = { ...recordToMsg('k', live), version: null };
    expect(msgToRecord(msg)).to.equal(undefined);
  });

  it('refuses a message whose version names no node', () => {
    const msg: RecordMsg = { ...recordToMsg('k', live), version: { timestamp: 5, node: '' } };
    expect(msgToRecord(msg)).to.equal(undefined);
  });
});
