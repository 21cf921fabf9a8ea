import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_ENV, READY_LINE } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import type { ClusterConfig } from '../../src/config/types';
import { RingCache } from '../../src/index';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import { runCli, startCli, twoNodeConfigFile } from '../support/cli';
import { TestCluster, testConfig, until } from '../support/cluster';

async function expectUnauthenticated(what: string, p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: number; details?: string },
  );
  expect(err?.code, `${what}: ${err?.details ?? 'succeeded'}`).to.equal(grpc.status.UNAUTHENTICATED);
}

async function topologies(t: TestCluster): Promise<string[]> {
  return Promise.all(
    t.config.nodes.map(async (n) => {
      const c = new UnaryClient(n.address, 5000);
      try {
        const topo = await c.cluster<TopologyResponseMsg>('Topology', {});
        return `${topo.epoch}: ${topo.members.map((m) => m.id).join(',')}`;
      } finally {
        c.close();
      }
    }),
  );
}

describe('a cluster started with no secret configured, as npm start starts it', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let cache: RingCache;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3 });
    // An app with no secret: reads and writes need none.
    cache = await RingCache.connect({ seeds: t.seeds });
    await cache.set('kept', 'value', { consistency: 'all' });
  });
  after(async () => {
    await cache?.close();
    await t?.stop();
  });

  it('holds a secret of its own, which its nodes give each other', async () => {
    expect(t.clusterToken).to.match(/^[0-9a-f]{64}$/);
    // Replication between the nodes works: the write above reached all three.
    expect(await cache.get('kept', { consistency: 'all' })).to.equal('value');
  });

  it('refuses an intruder that puts a fake node on the ring, and the ring stays as it was', async () => {
    const before = await topologies(t);
    const intruder = new GrpcPeerTransport({ selfId: 'evil', addressOf: () => t.address('n1') });
    try {
      const ring = {
        epoch: 99,
        members: [
          ...t.config.nodes.map((n) => ({ id: n.id, address: n.address, http: n.http, since: 1 })),
          { id: 'evil', address: '127.0.0.1:7999', http: '127.0.0.1:7998', since: 99 },
        ],
        departed: [],
      };
      await expectUnauthenticated('ApplyRing', intruder.applyRing('n1', ring, 5000));
      await expectUnauthenticated('ProposeRing', intruder.proposeRing('n1', ring, 5000));
    } finally {
      intruder.close();
    }
    expect(await topologies(t)).to.deep.equal(before);
  });

  it('streams no record to an intruder that asks for a catch-up', async () => {
    const intruder = new GrpcPeerTransport({ selfId: 'evil', addressOf: () => t.address('n1') });
    let records = 0;
    try {
      await expectUnauthenticated(
        'Sync',
        intruder.sync('n1', 'n1', (r) => (records += r.length), new AbortController().signal),
      );
    } finally {
      intruder.close();
    }
    expect(records).to.equal(0);
  });

  it('refuses Flush and Leave without the secret, and takes them with it', async () => {
    const anyone = new UnaryClient(t.address('n2'), 5000);
    const admin = new UnaryClient(t.address('n2'), 15_000, t.clusterToken);
    try {
      await expectUnauthenticated('Flush', anyone.cluster('Flush', { prefix: '', confirm: true }));
      await expectUnauthenticated('Leave', anyone.cluster('Leave', { id: 'n2' }));
      expect(await cache.get('kept', { consistency: 'all' })).to.equal('value');
      await admin.cluster('Flush', { prefix: 'kept', confirm: true });
      expect(await cache.get('kept', { consistency: 'all' })).to.equal(undefined);
    } finally {
      anyone.close();
      admin.close();
    }
  });
});

describe('a node started on its own on an address the network can reach', function () {
  this.timeout(60_000);
  let dir: string;
  let config: ClusterConfig;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'protected-'));
    const base = await testConfig({ nodes: 1, factor: 1 });
    const n = base.nodes[0]!;
    config = {
      ...base,
      nodes: [{ ...n, listen: { host: '0.0.0.0', port: n.port, text: `0.0.0.0:${n.port}` } }],
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** `ringcache node --id n1` with `env`; resolves once it serves (then stops it) or exits. */
  async function runNode(
    env: Record<string, string>,
  ): Promise<{ served: boolean; code: number | null; output: string }> {
    const node = startCli(['node', '--id', 'n1'], {
      ...env,
      [CONFIG_ENV]: JSON.stringify(config),
      RINGCACHE_LOG_LEVEL: 'warn',
    });
    let served = false;
    node.process.stdout!.on('data', () => {
      if (!served && node.output().includes(`${READY_LINE} n1 `)) {
        served = true;
        node.process.kill('SIGTERM');
      }
    });
    const [code] = (await once(node.process, 'close')) as [number | null];
    return { served, code, output: node.output() };
  }

  it('refuses to start without a secret, saying what to set', async () => {
    const run = await runNode({});
    expect(run.served, run.output).to.equal(false);
    expect(run.code).to.not.equal(0);
    expect(run.output).to.match(
      /listens on 0\.0\.0\.0:\d+, which the network can reach, and has no cluster secret/,
    );
    expect(run.output).to.match(/RINGCACHE_CLUSTER_TOKEN_FILE/);
    expect(run.output).to.not.match(/\n\s+at /); // a config error, not a stack trace
  });

  it('starts with the secret in the file RINGCACHE_CLUSTER_TOKEN_FILE names (a Kubernetes Secret)', async () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'from-a-mounted-secret\n', { mode: 0o600 });
    const run = await runNode({ RINGCACHE_CLUSTER_TOKEN_FILE: file });
    expect(run.served, run.output).to.equal(true);
    expect(run.output).to.not.include('from-a-mounted-secret'); // never logged
  });
});

describe('ringcache up (npm start) with no secret configured', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'up-secret-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a secret only this user can read, says how to use it, and removes it at the stop', async () => {
    const { file, port } = await twoNodeConfigFile(dir, 'up-secret');
    const started = startCli(['up', '--config', file], { RINGCACHE_LOG_LEVEL: 'warn' });
    const up = started.process;
    const closed = once(up, 'close');
    try {
      const tokenFile: string = await until(
        'up to print the secret file',
        () => /export RINGCACHE_CLUSTER_TOKEN_FILE=(\S+)\n/.exec(started.output())?.[1] ?? '', // the whole line
        30_000,
      );
      expect(statSync(tokenFile).mode & 0o077, 'file mode: nobody but its owner').to.equal(0);
      const flush = ['flush', '--prefix', 'x:', '--yes', '--addr', `127.0.0.1:${port}`];
      const refused = await runCli(flush);
      expect(refused.code, refused.output).to.not.equal(0);
      expect(refused.output).to.match(/RINGCACHE_CLUSTER_TOKEN/);
      const allowed = await runCli(flush, { RINGCACHE_CLUSTER_TOKEN_FILE: tokenFile });
      expect(allowed.code, allowed.output).to.equal(0);
      up.kill('SIGINT');
      await closed;
      expect(existsSync(tokenFile), 'the secret file after the stop').to.equal(false);
    } finally {
      up.kill('SIGKILL');
    }
  });
});
