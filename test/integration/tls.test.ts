import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { makeCerts, type CertFiles } from '../../src/cli/certs';
import { RingCache, RingCacheError } from '../../src/index';
import { MemberStateWire, type TopologyResponseMsg } from '../../src/proto/messages';
import { UnaryClient } from '../../src/cli/unary-client';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import type { TlsOptions } from '../../src/transport/tls';
import { runCli, startCli, twoNodeConfigFile } from '../support/cli';
import { TestCluster, until } from '../support/cluster';

const ROOT = path.resolve(__dirname, '../../..');
const BUF = path.join(ROOT, 'node_modules/.bin/buf');
const run = promisify(execFile);

const NODES = ['n1', 'n2', 'n3'];

/** TLS options of a client holding `set`'s client certificate and trusting `caFile`. */
function clientTls(set: CertFiles, caFile = set.ca.cert): TlsOptions {
  return { ca: readFileSync(caFile), cert: readFileSync(set.client.cert), key: readFileSync(set.client.key) };
}

/** The fingerprint of the certificate a node presents to a new handshake. */
function presented(address: string, options: TlsOptions): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host,
        port: Number(port),
        servername: 'localhost',
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        ALPNProtocols: ['h2'],
      },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe('a cluster over TLS, nodes with mTLS between them (client_auth: require)', function () {
  this.timeout(90_000);
  let dir: string;
  let first: CertFiles;
  let second: CertFiles;
  let t: TestCluster;
  /** Both CAs: the nodes and clients trust either, so a rotation to the second set drops nobody. */
  let bundle: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tls-test-'));
    first = await makeCerts({ out: path.join(dir, 'first'), nodes: NODES, hosts: [], days: 2, force: false });
    second = await makeCerts({
      out: path.join(dir, 'second'),
      nodes: NODES,
      hosts: [],
      days: 2,
      force: false,
    });
    bundle = path.join(dir, 'ca-bundle.pem');
    writeFileSync(bundle, Buffer.concat([readFileSync(first.ca.cert), readFileSync(second.ca.cert)]));
    // The files the nodes read: the first set's, replaced by the second's for the rotation.
    mkdirSync(path.join(dir, 'live'));
    for (const id of NODES) {
      copyFileSync(first.nodes[id]!.cert, path.join(dir, 'live', `${id}.pem`));
      copyFileSync(first.nodes[id]!.key, path.join(dir, 'live', `${id}-key.pem`));
    }
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      tls: {
        caFile: bundle,
        certFile: path.join(dir, 'live', '{id}.pem'),
        keyFile: path.join(dir, 'live', '{id}-key.pem'),
        clientAuth: 'require',
      },
    });
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('replicates between its nodes over mTLS and serves an SDK client with a certificate', async () => {
    const cache = await t.client({ tls: clientTls(first, bundle) });
    await cache.set('tls:k', { over: 'tls' }, { consistency: 'all' });
    expect(await cache.get('tls:k', { consistency: 'all' })).to.deep.equal({ over: 'tls' });
  });

  it('refuses a plaintext client and a client without a certificate, at once and with UNAVAILABLE', async () => {
    for (const opts of [{}, { tls: { ca: readFileSync(bundle) } }]) {
      const err = await RingCache.connect({
        seeds: t.seeds,
        timeoutMs: 3000,
        connectTimeoutMs: 3000,
        ...opts,
      }).then(
        (c) => c.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(Object.keys(opts))).to.be.instanceOf(RingCacheError);
      expect((err as RingCacheError).code).to.equal('UNAVAILABLE');
    }
  });

  it('keeps out a node whose certificate another CA signed, even with the cluster secret', async () => {
    const stranger = await makeCerts({
      out: path.join(dir, 'stranger'),
      nodes: ['n9'],
      hosts: [],
      days: 2,
      force: false,
    });
    const c = new UnaryClient(t.address('n1'), 5000, undefined, clientTls(first, bundle));
    /** n1's view of the members, once it holds every one alive (a busy machine may make one suspect for a moment). */
    const allAlive = async (): Promise<TopologyResponseMsg['members']> =>
      (await until(
        'every member alive for n1',
        async () => {
          const topo = await c.cluster<TopologyResponseMsg>('Topology', {});
          return topo.members.every((m) => m.state === MemberStateWire.ALIVE) ? topo.members : undefined;
        },
        30_000,
        100,
      ))!;
    try {
      // An accusation n1 would take if the ping got through: n2 dead at an incarnation above the one n1
      // holds (n2 refutes only by going above it, and a moment's suspicion raises it by one).
      const forged = (await allAlive()).find((m) => m.id === 'n2')!.incarnation + 1000;
      const peer = new GrpcPeerTransport({
        selfId: 'n9',
        addressOf: () => t.address('n1'),
        clusterToken: t.clusterToken,
        tls: {
          ca: readFileSync(bundle),
          cert: readFileSync(stranger.nodes.n9!.cert),
          key: readFileSync(stranger.nodes.n9!.key),
        },
      });
      try {
        const signal = new AbortController().signal;
        const refused = await peer
          .ping(
            'n1',
            { from: 'n9', updates: [{ id: 'n2', state: 'dead', incarnation: forged }], ringEpoch: 1 },
            5000,
            signal,
          )
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(refused, 'the ping of a node from another CA').to.not.equal(undefined);
      } finally {
        peer.close();
      }
      // Had n1 taken the accusation, n2 would be dead, or alive again only above `forged`.
      const members = await allAlive();
      expect(members.map((m) => m.id)).to.deep.equal(NODES);
      expect(members.find((m) => m.id === 'n2')!.incarnation, "n2's incarnation").to.be.below(forged);
    } finally {
      c.close();
    }
  });

  it('answers buf curl given the CA and a client certificate', async () => {
    const { stdout } = await run(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--cacert',
      bundle,
      '--cert',
      first.client.cert,
      '--key',
      first.client.key,
      '--data',
      '{"service":"ringcache.v1.Cache"}',
      `https://${t.address('n2')}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(stdout)).to.deep.equal({ status: 'SERVING' });
  });

  it('takes new certificates on SIGHUP under load, and loses no call', async () => {
    const cache = await t.client({ tls: clientTls(first, bundle) });
    const before = new X509Certificate(readFileSync(second.nodes.n1!.cert)).fingerprint256;
    let stopping = false;
    let ok = 0;
    const failures: string[] = [];
    const load = (async () => {
      for (let i = 0; !stopping; i++) {
        await cache.set(`rot:${i % 100}`, i, { consistency: 'all' }).then(
          () => ok++,
          (e: unknown) => failures.push(String(e)),
        );
      }
    })();
    try {
      await until('calls before the rotation', () => ok >= 50, 30_000);
      for (const id of NODES) {
        copyFileSync(second.nodes[id]!.cert, path.join(dir, 'live', `${id}.pem`));
        copyFileSync(second.nodes[id]!.key, path.join(dir, 'live', `${id}-key.pem`));
        void t.cluster.kill(id, 'SIGHUP');
      }
      const probe = clientTls(first, bundle);
      for (const id of NODES) {
        const want = new X509Certificate(readFileSync(second.nodes[id]!.cert)).fingerprint256;
        await until(
          `${id} to present its new certificate`,
          async () => (await presented(t.address(id), probe)) === want,
        );
      }
      expect(before).to.not.equal('');
      const after = ok;
      await until('calls after the rotation', () => ok >= after + 50, 30_000);
    } finally {
      stopping = true;
      await load;
    }
    expect(failures).to.deep.equal([]);
  });

  it('takes new certificate files with no signal (a renewed Kubernetes Secret)', async () => {
    // After the test above the nodes present the second set; the first set comes back as files only.
    for (const id of NODES) {
      copyFileSync(first.nodes[id]!.cert, path.join(dir, 'live', `${id}.pem`));
      copyFileSync(first.nodes[id]!.key, path.join(dir, 'live', `${id}-key.pem`));
    }
    const probe = clientTls(first, bundle);
    for (const id of NODES) {
      const want = new X509Certificate(readFileSync(first.nodes[id]!.cert)).fingerprint256;
      await until(
        `${id} to present the certificate in its files`,
        async () => (await presented(t.address(id), probe)) === want,
        30_000,
      );
    }
    const cache = await t.client({ tls: clientTls(first, bundle) });
    await cache.set('rot:files', 1, { consistency: 'all' });
    expect(await cache.get('rot:files', { consistency: 'all' })).to.equal(1);
  });
});

describe('ringcache up --tls (npm start -- --tls)', function () {
  this.timeout(90_000);
  let dir: string;

  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'up-tls-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a local CA on first use, serves over mTLS, and prints the flags that reach it', async () => {
    const { file, port } = await twoNodeConfigFile(dir, 'up-tls');
    const started = startCli(['up', '--config', file, '--tls', '--tls-dir', path.join(dir, 'tls')], {
      RINGCACHE_LOG_LEVEL: 'warn',
    });
    const up = started.process;
    const closed = once(up, 'close');
    try {
      const flags = await until(
        'up to print how to reach it',
        () => / --tls-ca (\S+) --tls-cert (\S+) --tls-key (\S+)/.exec(started.output())?.slice(1) ?? '',
        60_000,
      );
      const tlsArgs = ['--tls-ca', flags[0]!, '--tls-cert', flags[1]!, '--tls-key', flags[2]!];
      const addr = ['--addr', `127.0.0.1:${port}`];
      const set = await runCli(['set', 'greeting', 'hello', ...addr, ...tlsArgs]);
      expect(set.code, set.output).to.equal(0);
      const get = await runCli(['get', 'greeting', ...addr, ...tlsArgs]);
      expect(get, get.output).to.deep.include({ code: 0 });
      expect(get.output.trim()).to.equal('hello');
      const plain = await runCli(['get', 'greeting', ...addr]);
      expect(plain.code, plain.output).to.equal(3);
      expect(plain.output).to.match(/^ringcache: /);
      up.kill('SIGINT');
      await closed;
    } finally {
      up.kill('SIGKILL');
    }
  });
});
