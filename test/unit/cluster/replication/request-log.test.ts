import { expect } from 'chai';
import type { OperationResult } from '../../../../src/cluster/replication/operation';
import { DEFAULT_REQUEST_LOG, RequestLog } from '../../../../src/cluster/replication/request-log';

const version = { timestamp: 7, node: 'n1' };
const first: OperationResult = { kind: 'incr', value: 1, version };
const second: OperationResult = { kind: 'incr', value: 2, version: { timestamp: 8, node: 'n2' } };

describe('RequestLog', () => {
  const limits = { windowMs: 1000, maxEntries: 3 };

  it('answers a remembered request with its outcome', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.get('r1', 'k', 10)).to.deep.equal(first);
    expect(log.size).to.equal(1);
  });

  it('answers a request as acknowledged only once a round here had W replicas take it, and for its key', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.getAcknowledged('r1', 'k', 0), 'remembered, not acknowledged').to.equal(undefined);
    log.acknowledge('other', ['r1']);
    expect(log.getAcknowledged('r1', 'k', 0), 'acknowledged for another key').to.equal(undefined);
    log.acknowledge('k', ['r1', 'never-seen']);
    expect(log.getAcknowledged('r1', 'k', 10)).to.deep.equal(first);
    expect(log.getAcknowledged('never-seen', 'k', 10)).to.equal(undefined);
    expect(log.getAcknowledged('r1', 'k', 1001), 'past the window').to.equal(undefined);
  });

  it('tells the record each request was accepted with, and lists the requests that made one record', () => {
    const log = new RequestLog({ windowMs: 1000, maxEntries: 10 });
    const record = { timestamp: 9, node: 'n1' };
    log.remember('k', { id: 'a', outcome: first }, 0, record);
    log.remember('k', { id: 'b', outcome: second }, 0, record);
    log.remember('k', { id: 'plain', outcome: first }, 0);
    log.remember('other', { id: 'elsewhere', outcome: first }, 0, record);
    expect(log.acceptedAt('a', 'k', 10)).to.deep.equal(record);
    expect(log.acceptedAt('plain', 'k', 10), 'no accept carried it').to.equal(undefined);
    expect(log.acceptedAt('a', 'other', 10), 'another key').to.equal(undefined);
    expect(log.madeBy('k', record, 10).map((r) => r.id)).to.deep.equal(['a', 'b']);
    expect(log.madeBy('k', version, 10)).to.deep.equal([]);
    expect(log.madeBy('k', record, 1001), 'past the window').to.deep.equal([]);
  });

  it('moves a request to the record that carried it last, and forgets it there once it is dropped', () => {
    const log = new RequestLog({ windowMs: 1000, maxEntries: 2 });
    const r1 = { timestamp: 9, node: 'n1' };
    const r2 = { timestamp: 12, node: 'n2' };
    log.remember('k', { id: 'a', outcome: first }, 0, r1);
    log.remember('k', { id: 'a', outcome: first }, 5, r2);
    expect(log.madeBy('k', r1, 10), 'carried on to a newer record').to.deep.equal([]);
    expect(log.madeBy('k', r2, 10).map((r) => r.id)).to.deep.equal(['a']);
    log.remember('k', { id: 'b', outcome: second }, 6, r2);
    log.remember('k', { id: 'c', outcome: second }, 7, r2);
    expect(
      log.madeBy('k', r2, 10).map((r) => r.id),
      'the oldest dropped past maxEntries',
    ).to.deep.equal(['b', 'c']);
  });

  it('tells whether a round here had a request taken by W replicas', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.isAcknowledged('r1')).to.equal(false);
    log.acknowledge('k', ['r1']);
    expect(log.isAcknowledged('r1')).to.equal(true);
    expect(log.isAcknowledged('never-seen')).to.equal(false);
  });

  it('answers undefined for a request id it never saw', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.get('r2', 'k', 0)).to.equal(undefined);
  });

  it('answers undefined when the request id is asked for another key', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.get('r1', 'other', 0)).to.equal(undefined);
    expect(log.get('r1', 'k', 0)).to.deep.equal(first);
  });

  it('keeps the first outcome when the same request is remembered again', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('k', { id: 'r1', outcome: second }, 5);
    expect(log.get('r1', 'k', 10)).to.deep.equal(first);
    expect(log.size).to.equal(1);
  });

  it('keeps the first outcome and its key when the same request id comes again for another key', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('other', { id: 'r1', outcome: second }, 5);
    expect(log.get('r1', 'other', 10)).to.equal(undefined);
    expect(log.get('r1', 'k', 10)).to.deep.equal(first);
  });

  it('remembers a request until just before windowMs has passed and forgets it at windowMs', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 5000);
    expect(log.get('r1', 'k', 5999)).to.deep.equal(first);
    expect(log.get('r1', 'k', 6000)).to.equal(undefined);
    expect(log.size).to.equal(0);
  });

  it('forgets only the requests whose window has passed, oldest first', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('k', { id: 'r2', outcome: second }, 500);
    expect(log.get('r1', 'k', 1000)).to.equal(undefined);
    expect(log.get('r2', 'k', 1000)).to.deep.equal(second);
    expect(log.size).to.equal(1);
    expect(log.get('r2', 'k', 1500)).to.equal(undefined);
    expect(log.size).to.equal(0);
  });

  it('forgets expired requests when a new one is remembered, with no get in between', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('k', { id: 'r2', outcome: first }, 100);
    log.remember('k', { id: 'r3', outcome: second }, 1050);
    expect(log.size).to.equal(2);
    log.remember('k', { id: 'r4', outcome: second }, 2050);
    expect(log.size).to.equal(1);
  });

  it('remembers a request id again with a new outcome once its window has passed', () => {
    const log = new RequestLog(limits);
    log.remember('k', { id: 'r1', outcome: first }, 0);
    expect(log.get('r1', 'k', 1000)).to.equal(undefined);
    log.remember('k', { id: 'r1', outcome: second }, 1000);
    expect(log.get('r1', 'k', 1000)).to.deep.equal(second);
  });

  it('forgets the oldest request first when more than maxEntries are remembered', () => {
    const log = new RequestLog(limits);
    for (const id of ['r1', 'r2', 'r3', 'r4']) log.remember('k', { id, outcome: first }, 0);
    expect(log.size).to.equal(3);
    expect(log.get('r1', 'k', 0)).to.equal(undefined);
    for (const id of ['r2', 'r3', 'r4']) expect(log.get(id, 'k', 0), id).to.deep.equal(first);
  });

  it('does not make a request younger when it is remembered again, so it is still forgotten first', () => {
    const log = new RequestLog({ windowMs: 1000, maxEntries: 2 });
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('k', { id: 'r2', outcome: first }, 0);
    log.remember('k', { id: 'r1', outcome: second }, 0);
    log.remember('k', { id: 'r3', outcome: first }, 0);
    expect(log.get('r1', 'k', 0)).to.equal(undefined);
    expect(log.get('r2', 'k', 0)).to.deep.equal(first);
    expect(log.get('r3', 'k', 0)).to.deep.equal(first);
  });

  it('does not make a request younger when it is read, so it is still forgotten first', () => {
    const log = new RequestLog({ windowMs: 1000, maxEntries: 2 });
    log.remember('k', { id: 'r1', outcome: first }, 0);
    log.remember('k', { id: 'r2', outcome: first }, 0);
    expect(log.get('r1', 'k', 0)).to.deep.equal(first);
    log.remember('k', { id: 'r3', outcome: first }, 0);
    expect(log.get('r1', 'k', 0)).to.equal(undefined);
    expect(log.size).to.equal(2);
  });

  it('keeps the outcome of every kind of read-modify-write', () => {
    const outcomes: OperationResult[] = [
      { kind: 'set', stored: false, version: undefined },
      { kind: 'touch', found: true },
      { kind: 'incr', value: -5, version },
      { kind: 'cas', version },
    ];
    const log = new RequestLog({ windowMs: 1000, maxEntries: outcomes.length });
    outcomes.forEach((outcome, i) => log.remember(`k${i}`, { id: `r${i}`, outcome }, 0));
    expect(outcomes.map((_, i) => log.get(`r${i}`, `k${i}`, 0))).to.deep.equal(outcomes);
  });

  describe('a request heard of from another replica (hear)', () => {
    it('keeps it as known, never counts it firsthand, and passes it on to no catch-up', () => {
      const log = new RequestLog();
      log.hear('c', { id: 'r1', outcome: first }, 0);
      expect(log.get('r1', 'c', 0)).to.deep.equal(first);
      expect(log.getFirsthand('r1', 'c', 0)).to.equal(undefined);
      expect(log.byKey(0).get('c')).to.equal(undefined);
    });

    it('gives way to what this node then takes firsthand, and never replaces a firsthand memory', () => {
      const log = new RequestLog();
      log.hear('c', { id: 'r1', outcome: first }, 0);
      log.remember('c', { id: 'r1', outcome: second }, 1, second.version);
      expect(log.getFirsthand('r1', 'c', 1)).to.deep.equal(second);
      expect(log.acceptedAt('r1', 'c', 1)).to.deep.equal(second.version);
      log.remember('c', { id: 'r2', outcome: first }, 1, version);
      log.hear('c', { id: 'r2', outcome: second }, 2);
      expect(log.getFirsthand('r2', 'c', 2)).to.deep.equal(first);
    });

    it('expires as any other', () => {
      const log = new RequestLog({ windowMs: 100, maxEntries: 10 });
      log.hear('c', { id: 'r1', outcome: first }, 0);
      expect(log.get('r1', 'c', 150)).to.equal(undefined);
    });
  });

  describe('with the default limits', () => {
    it('are a two-minute window and 200000 entries', () => {
      expect(DEFAULT_REQUEST_LOG).to.deep.equal({ windowMs: 120_000, maxEntries: 200_000 });
    });

    it('remembers a request for two minutes', () => {
      const log = new RequestLog();
      log.remember('k', { id: 'r1', outcome: first }, 0);
      expect(log.get('r1', 'k', 119_999)).to.deep.equal(first);
      expect(log.get('r1', 'k', 120_000)).to.equal(undefined);
    });

    it('forgets the oldest request once 200000 are held', () => {
      const log = new RequestLog();
      for (let i = 0; i <= 200_000; i++) log.remember('k', { id: `r${i}`, outcome: first }, 0);
      expect(log.size).to.equal(200_000);
      expect(log.get('r0', 'k', 0)).to.equal(undefined);
      expect(log.get('r1', 'k', 0)).to.deep.equal(first);
      expect(log.get('r200000', 'k', 0)).to.deep.equal(first);
    });
  });
});
