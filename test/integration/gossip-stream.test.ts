import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { loadServices } from '../../src/proto/load';
import { Code, METADATA, type PingRequestMsg, type PingResponseMsg } from '../../src/proto/messages';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import { LOGICAL_TICKS_PER_MS } from '../../src/store/hlc';
import { TestCluster, until } from '../support/cluster';

const TOKEN = 'gossip-stream-secret';

type GossipStream = grpc.ClientDuplexStream<PingRequestMsg, PingResponseMsg>;

/** A Peer client as another node would open it, with the cluster token. */
function peerClient(address: string): grpc.Client & { Gossip(md: grpc.Metadata): GossipStream } {
  const { Peer } = loadServices();
  return new Peer(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Gossip(md: grpc.Metadata): GossipStream;
  };
}

function withToken(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(METADATA.clusterToken, TOKEN);
  return md;
}

const probe = (probeId: number): PingRequestMsg => ({ from: 'n2', updates: [], ringEpoch: 1, probeId });

/** Reads `stream` until it ends: the answers it got, and the status it ended with. */
function drain<Req>(stream: grpc.ClientDuplexStream<Req, PingResponseMsg>): Promise<{
  answers: PingResponseMsg[];
  error: grpc.ServiceError | undefined;
}> {
  return new Promise((resolve) => {
    const answers: PingResponseMsg[] = [];
    stream.on('data', (a: PingResponseMsg) => answers.push(a));
    stream.on('error', (error: grpc.ServiceError) => resolve({ answers, error }));
    stream.on('end', () => resolve({ answers, error: undefined }));
  });
}

/** What a fake peer answers to a probe. */
const answer = (req: PingRequestMsg): PingResponseMsg => ({
  from: 'fake',
  updates: [],
  ack: true,
  ringEpoch: 5,
  clock: 0,
  wallClockMs: Date.now(),
  probeId: req.probeId ?? 0,
});

/** A Peer service with only `handlers` (others answer UNIMPLEMENTED), on 127.0.0.1:`port` (0: any). */
async function serve(
  port: number,
  handlers: grpc.UntypedServiceImplementation,
): Promise<[grpc.Server, number]> {
  const server = new grpc.Server();
  server.addService(loadServices().Peer.service, handlers);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return [server, bound];
}

/** A probe from "n2" through `peer` to "fake", sent at `clock`, within `timeoutMs`. */
const probeFake = (peer: GrpcPeerTransport, clock: number, timeoutMs = 10_000) =>
  peer.ping(
    'fake',
    { from: 'n2', updates: [], ringEpoch: 1, clock },
    timeoutMs,
    new AbortController().signal,
  );

/**
 * SWIM probes travel on one long-lived Peer.Gossip stream per pair of nodes, each answered with its
 * probe_id: a probe costs two messages instead of a unary call. What a peer sends on it is checked
 * like any other input, and a peer of an older release, which has no Gossip, is probed with Ping.
 */
describe('gossip probes on one stream per peer', function () {
  this.timeout(90_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 1,
      env: { RINGCACHE_CLUSTER_TOKEN: TOKEN },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it("answers each probe on the stream with its probe_id, the node's ring epoch and clocks", async () => {
    const client = peerClient(t.address('n1'));
    try {
      const stream = client.Gossip(withToken());
      const done = drain(stream);
      // The node advances its clock past the probe's (its own is still 0: nothing was written), and
      // answers with it.
      const clock = (Date.now() - 1000) * LOGICAL_TICKS_PER_MS;
      for (const id of [7, 8, 9]) stream.write({ ...probe(id), clock });
      stream.end();
      const { answers, error } = await done;
      expect(error, error?.details).to.equal(undefined);
      expect(answers.map((a) => a.probeId)).to.deep.equal([7, 8, 9]);
      for (const a of answers) {
        expect(a.from).to.equal('n1');
        expect(a.ack).to.equal(true);
        expect(Number(a.ringEpoch)).to.be.at.least(1);
        expect(Number(a.clock)).to.be.at.least(clock);
        expect(Number(a.wallClockMs)).to.be.above(Date.now() - 60_000);
      }
    } finally {
      client.close();
    }
  });

  it('refuses the stream without the cluster token (UNAUTHENTICATED)', async () => {
    const client = peerClient(t.address('n1'));
    try {
      const stream = client.Gossip(new grpc.Metadata());
      const done = drain(stream);
      stream.write(probe(1));
      const { answers, error } = await done;
      expect(answers).to.deep.equal([]);
      expect(error?.code, error?.details).to.equal(Code.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('ends the stream of a malformed probe with INVALID_ARGUMENT, and keeps probing over others', async () => {
    const client = peerClient(t.address('n1'));
    try {
      const raw = client.makeBidiStreamRequest<Buffer, PingResponseMsg>(
        '/ringcache.v1.Peer/Gossip',
        (b: Buffer) => b,
        (b: Buffer) => ({ from: '', updates: [], ack: false, probeId: b.length }),
        withToken(),
      );
      const done = drain(raw);
      raw.write(Buffer.from([0x0a, 0xff, 0xff, 0xff])); // field 1, a length past the end
      const { error } = await done;
      expect(error?.code, error?.details).to.equal(Code.INVALID_ARGUMENT);
      // The node answers probes as before.
      const peer = new GrpcPeerTransport({
        selfId: 'n2',
        addressOf: (id) => t.address(id),
        clusterToken: TOKEN,
      });
      try {
        const reply = await peer.ping(
          'n1',
          { from: 'n2', updates: [], ringEpoch: 1 },
          10_000,
          new AbortController().signal,
        );
        expect(reply.ringEpoch).to.be.at.least(1);
      } finally {
        peer.close();
      }
    } finally {
      client.close();
    }
  });

  it('answers every probe, in order, of a peer that read none of its answers for a while', async () => {
    const client = peerClient(t.address('n1'));
    try {
      const stream = client.Gossip(withToken());
      // Explicitly paused: the listeners below do not start the flow, so no answer is read.
      stream.pause();
      const answers: number[] = [];
      const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
        stream.on('data', (a: PingResponseMsg) => answers.push(Number(a.probeId)));
        stream.on('error', (error: grpc.ServiceError) => resolve(error));
        stream.on('end', () => resolve(undefined));
      });
      const total = 20_000;
      let handedOver = 0;
      for (let i = 1; i <= total; i++) stream.write(probe(i), () => handedOver++);
      stream.end();
      // The node has read past what its unanswered backlog allows (1,024 answers plus what the
      // connection took): from there it reads no more until answers go, and HTTP/2 flow control
      // holds the rest of the probes on this side.
      await until('the node to have read 2,000 probes', () => handedOver >= 2_000);
      stream.resume();
      const error = await ended;
      expect(error, error?.details).to.equal(undefined);
      expect(answers.length).to.equal(total);
      expect(answers.every((id, i) => id === i + 1)).to.equal(true);
    } finally {
      client.close();
    }
  });

  it('probes a peer of an older release, which has no Gossip, with Ping, and with Gossip once it was upgraded', async () => {
    // A Peer service that knows Ping only: Gossip answers UNIMPLEMENTED, as on a release before it.
    const pings: number[] = [];
    const gossiped: number[] = [];
    const pingedAfterUpgrade: number[] = [];
    const old = await serve(0, {
      Ping: (
        call: grpc.ServerUnaryCall<PingRequestMsg, PingResponseMsg>,
        cb: grpc.sendUnaryData<PingResponseMsg>,
      ) => {
        pings.push(Number(call.request.clock));
        cb(null, answer(call.request));
      },
    });
    let server = old[0];
    const port = old[1];
    const peer = new GrpcPeerTransport({ selfId: 'n2', addressOf: () => `127.0.0.1:${port}` });
    const ping = (clock: number) => probeFake(peer, clock);
    try {
      const first = await ping(11);
      const second = await ping(12);
      expect([first.ringEpoch, second.ringEpoch]).to.deep.equal([5, 5]);
      expect(pings).to.deep.equal([11, 12]);
      // The peer is upgraded: it restarts (the connection drops) and answers Gossip now.
      server.forceShutdown();
      [server] = await serve(port, {
        Gossip: (call: grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>) => {
          call.on('data', (req: PingRequestMsg) => {
            gossiped.push(Number(req.clock));
            call.write(answer(req));
          });
          call.on('end', () => call.end());
        },
        Ping: (
          call: grpc.ServerUnaryCall<PingRequestMsg, PingResponseMsg>,
          cb: grpc.sendUnaryData<PingResponseMsg>,
        ) => {
          pingedAfterUpgrade.push(Number(call.request.clock));
          cb(null, answer(call.request));
        },
      });
      await until("a probe on the upgraded peer's Gossip stream", async () => {
        await ping(13).catch(() => undefined);
        return gossiped.includes(13);
      });
      expect(pingedAfterUpgrade).to.deep.equal([]);
    } finally {
      peer.close();
      server.forceShutdown();
    }
  });

  describe('against a fake peer', () => {
    let server: grpc.Server | undefined;
    let peer: GrpcPeerTransport | undefined;
    afterEach(() => {
      peer?.close();
      server?.forceShutdown();
      peer = server = undefined;
    });

    it('leaves the other probes on a stream waiting for their answers when one times out', async () => {
      // The peer answers nothing until told: one probe times out, and one that may wait still gets
      // its answer on the same stream (a timeout is no reason to fail probes that have time left).
      let streams = 0;
      const held: [grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>, PingRequestMsg][] = [];
      let port: number;
      [server, port] = await serve(0, {
        Gossip: (call: grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>) => {
          streams++;
          call.on('data', (req: PingRequestMsg) => held.push([call, req]));
        },
      });
      const transport = new GrpcPeerTransport({ selfId: 'n2', addressOf: () => `127.0.0.1:${port}` });
      peer = transport;
      const patient = probeFake(transport, 2, 10_000);
      const hasty = probeFake(transport, 1, 100);
      await hasty.then(
        () => expect.fail('the hasty probe was answered'),
        (err: Error) => expect(err.message).to.match(/did not answer before the deadline/),
      );
      await until('the peer to hold the patient probe', () => held.some(([, r]) => Number(r.clock) === 2));
      for (const [call, req] of held) call.write(answer(req));
      expect((await patient).ringEpoch).to.equal(5);
      expect(streams).to.equal(1);
    });

    it('probes on a new stream once one went silent while its connection answers', async () => {
      let streams = 0;
      let port: number;
      [server, port] = await serve(0, {
        Gossip: (call: grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>) => {
          const silent = ++streams === 1;
          call.on('data', (req: PingRequestMsg) => silent || call.write(answer(req)));
        },
      });
      const transport = new GrpcPeerTransport({ selfId: 'n2', addressOf: () => `127.0.0.1:${port}` });
      peer = transport;
      await probeFake(transport, 1, 200).then(
        () => expect.fail('the silent stream answered'),
        (err: Error) => expect(err.message).to.match(/did not answer before the deadline/),
      );
      await until('a probe to be answered on a new stream', () =>
        probeFake(transport, 2, 1000).then(
          () => true,
          () => false,
        ),
      );
      expect(streams).to.be.at.least(2);
    });

    it('sends a probe once more on a new stream when the peer ended the one it was on', async () => {
      let streams = 0;
      let port: number;
      [server, port] = await serve(0, {
        Gossip: (call: grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>) => {
          const ends = ++streams === 1;
          call.on('data', (req: PingRequestMsg) => (ends ? call.end() : call.write(answer(req))));
        },
      });
      const transport = new GrpcPeerTransport({ selfId: 'n2', addressOf: () => `127.0.0.1:${port}` });
      peer = transport;
      expect((await probeFake(transport, 1)).ringEpoch).to.equal(5);
      expect(streams).to.equal(2);
    });
  });
});
