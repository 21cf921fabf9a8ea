import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { RingCache } from '../../src/index';
import { loadServices } from '../../src/proto/load';
import { Code, METADATA } from '../../src/proto/messages';
import { PROBE_OP } from '../../src/proto/packed';
import { PackedConnection } from '../../src/transport/packed-connection';
import { MIN_WIRE_VERSION, WIRE_VERSION, wireVersionInterceptor } from '../../src/transport/wire-version';
import { TestCluster, until } from '../support/cluster';
import { freePorts } from '../support/ports';

const raw = (buf: Buffer) => buf;

/** What a call ended with: its status, and the headers the node answered with. */
interface Outcome {
  code: number;
  details: string;
  trailers: grpc.Metadata | undefined;
  headers: grpc.Metadata | undefined;
}

/**
 * One call of `path` (any of the node's methods) with `headers`, as a client of another release
 * would make it: a plain channel, no ringcache interceptor, so nothing is stated but what is given.
 */
function call(
  address: string,
  path: string,
  headers: Record<string, string>,
  streaming: boolean,
): Promise<Outcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise<Outcome>((resolve) => {
    let got: grpc.Metadata | undefined;
    const done = (code: number, details: string, trailers: grpc.Metadata | undefined) => {
      client.close();
      resolve({ code, details, trailers, headers: got });
    };
    const deadline = Date.now() + 10_000;
    if (streaming) {
      const s = client.makeBidiStreamRequest(path, raw, raw, md, { deadline });
      s.on('metadata', (m: grpc.Metadata) => (got = m));
      s.on('data', () => undefined);
      s.on('status', (st: grpc.StatusObject) => done(st.code, st.details, st.metadata));
      s.on('error', () => undefined);
      s.end();
    } else {
      const c = client.makeUnaryRequest(path, raw, raw, Buffer.alloc(0), md, { deadline }, () => undefined);
      c.on('metadata', (m: grpc.Metadata) => (got = m));
      c.on('status', (st: grpc.StatusObject) => done(st.code, st.details, st.metadata));
    }
  });
}

function expectRefused(o: Outcome, stated: string): void {
  expect(o.code, o.details).to.equal(Code.FAILED_PRECONDITION);
  expect(o.details).to.include(`the caller speaks ${stated}`);
  expect(o.details).to.include(
    `node n1 speaks wire version ${WIRE_VERSION} (reads ${MIN_WIRE_VERSION} to ${WIRE_VERSION})`,
  );
  expect(o.trailers?.get(METADATA.errorCode)[0]).to.equal('WIRE_INCOMPATIBLE');
}

describe('wire versions: a caller of an incompatible release is refused, naming both versions', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let address: string;
  const token = () => ({ [METADATA.clusterToken]: t.clusterToken });

  before(async () => {
    t = await TestCluster.start({ nodes: 1 });
    address = t.address('n1');
  });
  after(async () => {
    await t?.stop();
  });

  const tooNew = { [METADATA.wireVersion]: '9', [METADATA.wireMinVersion]: '9' };

  it('refuses a packed stream, a Peer stream and call, and a Join from a release it cannot read', async () => {
    expectRefused(await call(address, '/ringcache.v1.Cache/PipelinePacked', tooNew, true), 'wire version 9');
    expectRefused(
      await call(address, '/ringcache.v1.Peer/Replicate', { ...tooNew, ...token() }, true),
      'wire version 9',
    );
    expectRefused(
      await call(address, '/ringcache.v1.Peer/Ping', { ...tooNew, ...token() }, false),
      'wire version 9',
    );
    expectRefused(
      await call(address, '/ringcache.v1.Cluster/Join', { ...tooNew, ...token() }, false),
      'wire version 9',
    );
  });

  it('serves a caller of the previous release (no version stated) and a next one that reads this', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { [METADATA.wireVersion]: String(WIRE_VERSION + 1), [METADATA.wireMinVersion]: String(WIRE_VERSION) },
    ]) {
      const o = await call(address, '/ringcache.v1.Cluster/Topology', headers, false);
      expect(o.code, o.details).to.equal(Code.OK);
      expect(o.headers?.get(METADATA.wireVersion)).to.deep.equal([String(WIRE_VERSION)]);
      expect(o.headers?.get(METADATA.wireMinVersion)).to.deep.equal([String(MIN_WIRE_VERSION)]);
    }
  });

  it('answers a malformed version INVALID_ARGUMENT naming the header', async () => {
    for (const [headers, says] of [
      [{ [METADATA.wireVersion]: 'two' }, `${METADATA.wireVersion} must be a wire version`],
      [{ [METADATA.wireVersion]: '0' }, `${METADATA.wireVersion} must be a wire version`],
      [
        { [METADATA.wireVersion]: '2', [METADATA.wireMinVersion]: '3' },
        `${METADATA.wireMinVersion} (3) is above`,
      ],
      [{ [METADATA.wireMinVersion]: '1' }, `${METADATA.wireMinVersion} was sent without`],
    ] as const) {
      const o = await call(address, '/ringcache.v1.Cache/PipelinePacked', headers, true);
      expect(o.code, o.details).to.equal(Code.INVALID_ARGUMENT);
      expect(o.details).to.include(says);
    }
  });

  it('logs a refused release once, however often it calls', async () => {
    const eight = { [METADATA.wireVersion]: '8', [METADATA.wireMinVersion]: '8' };
    for (let i = 0; i < 3; i++) await call(address, '/ringcache.v1.Cache/PipelinePacked', tooNew, true);
    await call(address, '/ringcache.v1.Cache/PipelinePacked', eight, true);
    const refusals = (v: number) =>
      (t.logs.get('n1') ?? []).filter(
        (l) =>
          l.includes('refused a caller of an incompatible release') &&
          l.includes(`speaks wire version ${v},`),
      ).length;
    // The node's log is ordered: once the last refusal is logged, every one before it is too.
    await until('the refusal of version 8 logged', () => refusals(8) === 1);
    expect(refusals(9)).to.equal(1);
  });
});

describe('wire versions: the SDK fails a call clearly when it and the node cannot talk', function () {
  this.timeout(30_000);
  let server: grpc.Server;
  let address: string;
  const conns: PackedConnection[] = [];

  /** A server that answers PipelinePacked streams as `handler` says, behind `interceptors`. */
  async function serve(
    handler: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void,
    interceptors: grpc.ServerInterceptor[] = [],
  ): Promise<void> {
    server = new grpc.Server({ interceptors });
    server.addService(
      {
        PipelinePacked: {
          path: '/ringcache.v1.Cache/PipelinePacked',
          requestStream: true,
          responseStream: true,
          requestSerialize: raw,
          requestDeserialize: raw,
          responseSerialize: raw,
          responseDeserialize: raw,
        },
      },
      { PipelinePacked: handler },
    );
    const [port] = await freePorts(1);
    address = `127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  function connect(): PackedConnection {
    const c = new PackedConnection({ address, peerName: `node at ${address}` });
    conns.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('refuses a node that states only versions it cannot read, rather than misreading it', async () => {
    // It states wire 9 and never answers: without the check the call would wait for its deadline.
    await serve((call) => {
      const md = new grpc.Metadata();
      md.set(METADATA.wireVersion, '9');
      md.set(METADATA.wireMinVersion, '9');
      call.sendMetadata(md);
    });
    const [code, message, error] = await connect().send(PROBE_OP, Date.now() + 10_000);
    expect(code, String(message)).to.equal(Code.FAILED_PRECONDITION);
    expect(message).to.include(
      `this client speaks wire version ${WIRE_VERSION} (reads ${MIN_WIRE_VERSION} to ${WIRE_VERSION})`,
    );
    expect(message).to.include('the node speaks wire version 9');
    expect(error).to.equal('WIRE_INCOMPATIBLE');
  });

  it("gives a node's refusal to the caller as WIRE_INCOMPATIBLE, not a compare-and-set conflict", async () => {
    await serve(
      () => undefined,
      [wireVersionInterceptor({ selfName: 'node n9', range: { version: 9, min: 9 } })],
    );
    const [code, message, error] = await connect().send(PROBE_OP, Date.now() + 10_000);
    expect(code, String(message)).to.equal(Code.FAILED_PRECONDITION);
    expect(message).to.include(
      `the caller speaks wire version ${WIRE_VERSION} (reads ${MIN_WIRE_VERSION} to ${WIRE_VERSION})`,
    );
    expect(message).to.include('node n9 speaks wire version 9');
    expect(error).to.equal('WIRE_INCOMPATIBLE');
  });

  it('fails RingCache.connect at once with WIRE_INCOMPATIBLE when every seed speaks another release', async () => {
    server = new grpc.Server({
      interceptors: [wireVersionInterceptor({ selfName: 'node n9', range: { version: 9, min: 9 } })],
    });
    // Never reached: the interceptor refuses the call before any handler.
    server.addService(loadServices().Cluster.service, {});
    const [port] = await freePorts(1);
    address = `127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    // Waiting out the connect timeout would end in UNAVAILABLE "not connected": a newer cluster does
    // not become readable by waiting, as a refused credential does not.
    const err = await RingCache.connect({ seeds: [address], connectTimeoutMs: 5000 }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err?.code, err?.message).to.equal('WIRE_INCOMPATIBLE');
    expect(err?.message).to.include('node n9 speaks wire version 9');
  });
});
