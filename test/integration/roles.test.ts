import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCerts } from '../../src/cli/certs';
import { RingCache, RingCacheError } from '../../src/index';
import { loadServices } from '../../src/proto/load';
import { Code, METADATA } from '../../src/proto/messages';
import { runCli } from '../support/cli';
import { TestCluster } from '../support/cluster';
import { HealthClient, ReflectionClient } from '../support/grpc-tools';

type Who = 'nobody' | 'wrong' | 'read' | 'write' | 'admin' | 'node';
/** What a call came to: OK, refused by access (its code), or any other code (it passed the check). */
type Outcome = 'allowed' | 'UNAUTHENTICATED' | 'PERMISSION_DENIED';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const REFUSALS: Record<number, Outcome> = {
  [Code.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [Code.PERMISSION_DENIED]: 'PERMISSION_DENIED',
};

interface Method {
  service: 'Cache' | 'Cluster' | 'Peer';
  name: string;
  /** The least that may call it; 'node' for the Peer service. */
  needs: 'read' | 'write' | 'admin' | 'node';
  /** Whether a node's identity passes (forwarded calls, Join). */
  node: boolean;
  request: unknown;
  kind: 'unary' | 'server-stream' | 'duplex';
}

/** Every RPC of the three services, each with a request that changes nothing that matters here. */
const METHODS: Method[] = [
  { service: 'Cache', name: 'Get', needs: 'read', node: true, kind: 'unary', request: { key: 'roles:a' } },
  {
    service: 'Cache',
    name: 'GetMany',
    needs: 'read',
    node: true,
    kind: 'unary',
    request: { keys: ['roles:a'] },
  },
  {
    service: 'Cache',
    name: 'Watch',
    needs: 'read',
    node: true,
    kind: 'server-stream',
    request: { prefix: 'roles:' },
  },
  {
    service: 'Cache',
    name: 'Scan',
    needs: 'read',
    node: true,
    kind: 'unary',
    request: { prefix: 'roles:', count: 1 },
  },
  {
    service: 'Cache',
    name: 'Pipeline',
    needs: 'read',
    node: true,
    kind: 'duplex',
    request: { frameId: 1, ops: [{ id: 0, get: { key: 'roles:a' } }] },
  },
  {
    service: 'Cache',
    name: 'Set',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { key: 'roles:a', value: Buffer.from('x') },
  },
  {
    service: 'Cache',
    name: 'Delete',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { key: 'roles:b' },
  },
  {
    service: 'Cache',
    name: 'Touch',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { key: 'roles:b', ttlMs: 1000 },
  },
  {
    service: 'Cache',
    name: 'Increment',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { key: 'roles:n', delta: 1 },
  },
  {
    service: 'Cache',
    name: 'CompareAndSet',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { key: 'roles:c', value: Buffer.from('x') },
  },
  {
    service: 'Cache',
    name: 'SetMany',
    needs: 'write',
    node: true,
    kind: 'unary',
    request: { items: [{ key: 'roles:d', value: Buffer.from('x') }] },
  },
  { service: 'Cluster', name: 'Topology', needs: 'read', node: true, kind: 'unary', request: {} },
  {
    service: 'Cluster',
    name: 'WatchTopology',
    needs: 'read',
    node: true,
    kind: 'server-stream',
    request: {},
  },
  { service: 'Cluster', name: 'Stats', needs: 'read', node: true, kind: 'unary', request: {} },
  {
    service: 'Cluster',
    name: 'Explain',
    needs: 'read',
    node: true,
    kind: 'unary',
    request: { key: 'roles:a' },
  },
  // Requests that pass the check and then fail (no such member, nothing to join): what is tested is
  // who gets past the check, not a membership change.
  { service: 'Cluster', name: 'Join', needs: 'admin', node: true, kind: 'unary', request: {} },
  { service: 'Cluster', name: 'Leave', needs: 'admin', node: false, kind: 'unary', request: { id: 'n9' } },
  {
    service: 'Cluster',
    name: 'Flush',
    needs: 'admin',
    node: false,
    kind: 'unary',
    request: { prefix: 'roles:none:', confirm: true },
  },
  { service: 'Peer', name: 'Ping', needs: 'node', node: true, kind: 'unary', request: {} },
  { service: 'Peer', name: 'Gossip', needs: 'node', node: true, kind: 'duplex', request: { probeId: 1 } },
  { service: 'Peer', name: 'Sync', needs: 'node', node: true, kind: 'server-stream', request: {} },
];

const RANK = { read: 0, write: 1, admin: 2 } as const;

/** What the rules say `who` gets from `m`. */
function expected(who: Who, m: Method): Outcome {
  if (who === 'nobody' || who === 'wrong') return 'UNAUTHENTICATED';
  if (who === 'node') return m.node ? 'allowed' : 'PERMISSION_DENIED';
  if (m.needs === 'node') return 'PERMISSION_DENIED';
  return RANK[who] >= RANK[m.needs] ? 'allowed' : 'PERMISSION_DENIED';
}

/** Calls `m` once as the metadata says and classifies the answer; streams by their first message or error. */
function call(address: string, m: Method, metadata: grpc.Metadata): Promise<Outcome> {
  const services = loadServices() as unknown as Record<string, grpc.ServiceClientConstructor>;
  const client = new services[m.service]!(address, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => grpc.ClientReadableStream<unknown> & grpc.ClientDuplexStream<unknown, unknown>
  >;
  const classify = (err: grpc.ServiceError | null): Outcome =>
    err ? (REFUSALS[err.code] ?? 'allowed') : 'allowed';
  const deadline = Date.now() + 20_000;
  return new Promise<Outcome>((resolve) => {
    const done = (o: Outcome) => {
      resolve(o);
      (client as unknown as grpc.Client).close();
    };
    const method = client[m.name]!.bind(client);
    if (m.kind === 'unary') {
      method(m.request, metadata, { deadline }, (err: grpc.ServiceError | null) => done(classify(err)));
      return;
    }
    const stream =
      m.kind === 'duplex' ? method(metadata, { deadline }) : method(m.request, metadata, { deadline });
    // A stream that answers at all was let in (Watch and WatchTopology answer at once, Pipeline its
    // frame); one refused fails before any message.
    stream.once('data', () => {
      done('allowed');
      stream.cancel();
    });
    stream.on('error', (err: grpc.ServiceError) => done(classify(err)));
    stream.on('end', () => done('allowed'));
    if (m.kind === 'duplex') stream.write(m.request);
  });
}

describe('users and roles (auth.users): each RPC for each kind of caller', function () {
  this.timeout(120_000);
  let t: TestCluster;
  let dir: string;
  const tokens = { read: randomBytes(16).toString('hex'), write: randomBytes(16).toString('hex'), admin: '' };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-roles-'));
    tokens.admin = randomBytes(16).toString('hex');
    const adminFile = path.join(dir, 'admin.token');
    writeFileSync(adminFile, `${tokens.admin}\n`, { mode: 0o600 });
    t = await TestCluster.start({
      nodes: 3,
      reflection: false,
      auth: {
        users: [
          { name: 'dashboard', role: 'read', tokenSha256: sha256(tokens.read) },
          { name: 'app', role: 'write', tokenSha256: sha256(tokens.write).toUpperCase() },
          { name: 'ops', role: 'admin', tokenFile: adminFile },
        ],
      },
    });
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const metadataOf = (who: Who): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (who === 'wrong') md.set('authorization', `Bearer ${randomBytes(16).toString('hex')}`);
    else if (who === 'node') md.set(METADATA.clusterToken, t.clusterToken);
    else if (who !== 'nobody') md.set('authorization', `Bearer ${tokens[who]}`);
    return md;
  };

  it('answers every RPC as the table of roles says, for no credential, a wrong one, each role and a node', async () => {
    const wrong: string[] = [];
    for (const who of ['nobody', 'wrong', 'read', 'write', 'admin', 'node'] as const) {
      for (const m of METHODS) {
        const got = await call(t.address('n1'), m, metadataOf(who));
        if (got !== expected(who, m))
          wrong.push(`${who} ${m.service}/${m.name}: ${got}, expected ${expected(who, m)}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('serves a read user its reads and refuses its writes, one by one inside a frame, naming the role', async () => {
    const writer = await t.client({ token: tokens.write, clusterToken: undefined });
    const reader = await t.client({ token: tokens.read, clusterToken: undefined });
    await writer.set('roles:k', { v: 1 });
    expect(await reader.get('roles:k', { consistency: 'all' })).to.deep.equal({ v: 1 });
    const [read, written] = await Promise.allSettled([
      reader.get('roles:k'),
      reader.set('roles:k', { v: 2 }),
    ]);
    expect(read.status === 'fulfilled' && read.value).to.deep.equal({ v: 1 });
    expect(written.status).to.equal('rejected');
    const err = (written as PromiseRejectedResult).reason as RingCacheError;
    expect(err.code).to.equal('PERMISSION_DENIED');
    expect(err.message).to.match(/writes need role write; user dashboard has role read/);
    expect(await writer.get('roles:k', { consistency: 'all' })).to.deep.equal({ v: 1 });
  });

  it('lets a write user run read-modify-writes on every node, forwarded to their coordinators', async () => {
    const writer = await t.client({ token: tokens.write, clusterToken: undefined });
    const keys = Array.from({ length: 24 }, (_, i) => `roles:counter:${i}`);
    const values = await Promise.all(keys.map((k) => writer.incr(k, 2)));
    expect(values).to.deep.equal(keys.map(() => 2));
  });

  it('refuses an SDK with no token UNAUTHENTICATED, saying what to send', async () => {
    const err = await RingCache.connect({ seeds: t.seeds, clusterToken: undefined, token: undefined }).then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RingCacheError);
    expect((err as RingCacheError).code).to.equal('UNAUTHENTICATED');
    expect((err as RingCacheError).message).to.match(/RINGCACHE_TOKEN/);
  });

  it('lets only an admin flush from the CLI, with one line for the refused', async () => {
    const writer = await t.client({ token: tokens.write, clusterToken: undefined });
    await writer.set('roles:flush:1', 1);
    const args = ['flush', '--addr', t.address('n2'), '--prefix', 'roles:flush:', '--yes'];
    const refused = await runCli(args, { RINGCACHE_TOKEN: tokens.write });
    expect(refused.code, refused.output).to.not.equal(0);
    expect(refused.output).to.match(/PERMISSION_DENIED|needs role admin/);
    expect(refused.output).to.not.match(/\n\s+at /);
    expect(await writer.get('roles:flush:1', { consistency: 'all' })).to.equal(1);
    const done = await runCli(args, { RINGCACHE_TOKEN: tokens.admin });
    expect(done.code, done.output).to.equal(0);
    expect(await writer.get('roles:flush:1', { consistency: 'all' })).to.equal(undefined);
  });

  it('answers health checks with no credential', async () => {
    const health = new HealthClient(t.address('n3'));
    try {
      expect(await health.check()).to.equal('SERVING');
      expect(await health.check('ringcache.v1.Cache')).to.equal('SERVING');
    } finally {
      health.close();
    }
  });

  it('serves no reflection when cluster.reflection is false', async () => {
    const reflection = new ReflectionClient(t.address('n1'));
    try {
      const err = await reflection.listServices().then(
        () => undefined,
        (e: unknown) => e as grpc.ServiceError,
      );
      expect(err?.code).to.equal(Code.UNIMPLEMENTED);
    } finally {
      reflection.close();
    }
  });
});

describe('users known by their client certificate (auth.users[].cert), client_auth optional', function () {
  this.timeout(120_000);
  let t: TestCluster;
  let dir: string;
  const token = randomBytes(16).toString('hex');
  const tlsOf = (set: string) => ({
    ca: readFileSync(path.join(dir, 'ours', 'ca.pem')),
    cert: readFileSync(path.join(dir, set, 'client.pem')),
    key: readFileSync(path.join(dir, set, 'client-key.pem')),
  });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-roles-tls-'));
    const nodes = ['n1', 'n2', 'n3'];
    const ours = await makeCerts({ out: path.join(dir, 'ours'), nodes, hosts: [], days: 2, force: false });
    // Another CA's client certificate, of the same common name as the mapped one.
    await makeCerts({ out: path.join(dir, 'theirs'), nodes, hosts: [], days: 2, force: false });
    t = await TestCluster.start({
      nodes: 3,
      tls: {
        caFile: ours.ca.cert,
        certFile: path.join(dir, 'ours', '{id}.pem'),
        keyFile: path.join(dir, 'ours', '{id}-key.pem'),
        clientAuth: 'optional',
      },
      auth: {
        users: [
          { name: 'reporting', role: 'read', cert: 'client' },
          { name: 'app', role: 'write', tokenSha256: sha256(token) },
        ],
      },
    });
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a certificate from the cluster CA its user role: reads served, writes PERMISSION_DENIED', async () => {
    const reporting = await t.client({ tls: tlsOf('ours'), clusterToken: undefined });
    expect(await reporting.get('roles:tls')).to.equal(undefined);
    const err = await reporting.set('roles:tls', 1).then(
      () => undefined,
      (e: unknown) => e as RingCacheError,
    );
    expect(err?.code).to.equal('PERMISSION_DENIED');
    expect(err?.message).to.match(/user reporting has role read/);
  });

  it('serves a token user that presents no certificate', async () => {
    const app = await t.client({ tls: { ca: tlsOf('ours').ca }, clusterToken: undefined, token });
    await app.set('roles:tls:app', 7);
    expect(await app.get('roles:tls:app', { consistency: 'all' })).to.equal(7);
  });

  it('takes a certificate from another CA for no one, whatever its name', async () => {
    const err = await RingCache.connect({
      seeds: t.seeds,
      tls: tlsOf('theirs'),
      clusterToken: undefined,
    }).then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e as RingCacheError,
    );
    expect(err?.code).to.equal('UNAUTHENTICATED');
  });
});
