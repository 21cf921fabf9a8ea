import { startPeerServer } from '../../support/peer-server';
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import {
  NO_DEBT,
  type PeerEndpoint,
  type ReplicaWrite,
  type SyncDebt,
} from '../../../src/cluster/peer-transport';
import { silentLogger } from '../../../src/observability/logger';
import type { SyncResponseMsg } from '../../../src/proto/messages';
import { debtFromWire, GrpcPeerTransport } from '../../../src/server/grpc-peer-transport';
import { peerService } from '../../../src/server/peer-service';

/** Stands in for grpc-js's server side of a Sync stream: the messages written, and its end. */
class FakeSyncCall extends EventEmitter {
  readonly request = { forNode: 'n4', ring: null };
  readonly written: SyncResponseMsg[] = [];
  cancelled = false;
  readonly ended: Promise<void>;
  #end: () => void = () => undefined;
  constructor() {
    super();
    this.ended = new Promise((resolve) => (this.#end = resolve));
  }
  write(msg: SyncResponseMsg): boolean {
    this.written.push(msg);
    return true;
  }
  end(): void {
    this.#end();
  }
}

/** A node's endpoint holding one record, owing `before`, then `after` once the record is sent. */
function owingEndpoint(before: SyncDebt, after: SyncDebt): PeerEndpoint {
  let asked = 0;
  const record: ReplicaWrite = {
    key: 'r2',
    record: { value: Buffer.from('v'), flags: 0, version: { timestamp: 1, node: 'n1' }, expiresAtMs: 0 },
  } as unknown as ReplicaWrite;
  return {
    syncRecords: function* () {
      yield record;
    },
    syncDebt: () => (asked++ === 0 ? before : after),
  } as unknown as PeerEndpoint;
}

/** Runs Peer.Sync on a node holding one record that owes `before`, then `after` once it is sent. */
async function sync(before: SyncDebt, after: SyncDebt): Promise<SyncResponseMsg[]> {
  const endpoint = owingEndpoint(before, after);
  const { handlers } = peerService({ selfId: 'n1', endpoint, logger: silentLogger() });
  const call = new FakeSyncCall();
  (handlers.Sync as unknown as (call: FakeSyncCall) => void)(call);
  await call.ended;
  return call.written;
}

describe('Peer.Sync on the node: what it owes', () => {
  it('sends nothing more when it owes nothing', async () => {
    const written = await sync(NO_DEBT, NO_DEBT);
    expect(written).to.have.length(1);
    expect(written[0]!.records.map((r) => r.key)).to.deep.equal(['r2']);
    expect(written[0]!.owedPeers).to.equal(undefined);
  });

  it('ends with the peers it owed before or after the records, and their rings, after the records', async () => {
    const before = { peers: ['n2'], rings: [['n1', 'n2', 'n3']] };
    const after = {
      peers: ['n2', 'n5'],
      rings: [
        ['n1', 'n2', 'n3'],
        ['n1', 'n3', 'n4'],
      ],
    };
    const written = await sync(before, after);
    expect(written).to.have.length(2);
    expect(written[0]!.records.map((r) => r.key)).to.deep.equal(['r2']);
    expect(written[1]).to.deep.equal({
      records: [],
      owedPeers: ['n2', 'n5'],
      owedRings: [{ nodeIds: ['n1', 'n2', 'n3'] }, { nodeIds: ['n1', 'n3', 'n4'] }],
    });
  });

  it('keeps what it owed before the records though it owes nothing after (its copies were sent then)', async () => {
    const written = await sync({ peers: ['n2'], rings: [['n1', 'n2']] }, NO_DEBT);
    expect(written.at(-1)).to.deep.include({ owedPeers: ['n2'], owedRings: [{ nodeIds: ['n1', 'n2'] }] });
  });

  it('reaches the node that pulls, over gRPC, with the records', async () => {
    const endpoint = owingEndpoint({ peers: ['n2'], rings: [['n1', 'n2', 'n3']] }, NO_DEBT);
    const { server, address } = await startPeerServer(endpoint, 'n1');
    const transport = new GrpcPeerTransport({ selfId: 'n4', addressOf: () => address });
    try {
      const keys: string[] = [];
      const debt = await transport.sync(
        'n1',
        'n4',
        (records) => keys.push(...records.map((r) => r.key)),
        new AbortController().signal,
      );
      expect(keys).to.deep.equal(['r2']);
      expect(debt).to.deep.equal({ peers: ['n2'], rings: [['n1', 'n2', 'n3']] });
    } finally {
      transport.close();
      server.forceShutdown();
    }
  });
});

describe("a Sync stream's debt as read from the wire", () => {
  it('keeps each named peer once, and its rings', () => {
    expect(
      debtFromWire({ owedPeers: ['n2', 'n2', '', 'n3'], owedRings: [{ nodeIds: ['n1', 'n2'] }] }),
    ).to.deep.equal({ peers: ['n2', 'n3'], rings: [['n1', 'n2']] });
  });

  it('owes nothing when it names no peer, whatever rings it sends', () => {
    expect(debtFromWire({ owedPeers: [''], owedRings: [{ nodeIds: ['n1'] }] })).to.equal(NO_DEBT);
    expect(debtFromWire({})).to.equal(NO_DEBT);
  });

  it('takes no ring (the peers are owed for every key) when one is unreadable or there are more than 16', () => {
    for (const bad of [[], ['n1', 'n1'], ['n1', '']]) {
      const debt = debtFromWire({
        owedPeers: ['n2'],
        owedRings: [{ nodeIds: ['n1', 'n2'] }, { nodeIds: bad }],
      });
      expect(debt, JSON.stringify(bad)).to.deep.equal({ peers: ['n2'], rings: [] });
    }
    const many = Array.from({ length: 17 }, () => ({ nodeIds: ['n1', 'n2'] }));
    expect(debtFromWire({ owedPeers: ['n2'], owedRings: many }).rings).to.deep.equal([]);
  });

  it('reads at most 65,535 peers, as many as a ring may have members', () => {
    const many = Array.from({ length: 70_000 }, (_, i) => `p${i}`);
    expect(debtFromWire({ owedPeers: many }).peers).to.have.length(65_535);
  });
});
