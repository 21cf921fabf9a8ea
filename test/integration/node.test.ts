import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { RingCache } from '../../src/index';
import { UnaryClient } from '../../src/cli/unary-client';
import { NODE_ENV_DEFAULTS } from '../../src/cli/local-cluster';
import { PipelineConnection } from '../../src/transport/pipeline-connection';
import {
  Code,
  type GetResponseMsg,
  type SetResponseMsg,
  type StatsResponseMsg,
  type GetManyResponseMsg,
} from '../../src/proto/messages';
import { HealthClient, ReflectionClient } from '../support/grpc-tools';
import { TestCluster, until } from '../support/cluster';

function expectStatus(p: Promise<unknown>, code: grpc.status, pattern: RegExp): Promise<void> {
  return p.then(
    () => expect.fail(`expected status ${grpc.status[code]}`),
    (err: grpc.ServiceError) => {
      expect(grpc.status[err.code], err.details).to.equal(grpc.status[code]);
      expect(err.details).to.match(pattern);
    },
  );
}

describe('a single node, called as grpcurl and people would', function () {
  let t: TestCluster;
  let c: UnaryClient;
  const utf8 = (s: string) => ({ value: Buffer.from(s), flags: 1 });

  before(async () => {
    t = await TestCluster.start({
      nodes: 1,
      maxKeyBytes: 64,
      maxValueBytes: 4096,
      maxMemoryBytes: 1024 * 1024,
    });
    c = new UnaryClient(t.address('n1'));
  });
  after(async () => {
    c?.close();
    await t?.stop();
  });

  describe('every RPC', () => {
    it('sets and gets a value, with text filled for UTF-8 values', async () => {
      const set = await c.cache<SetResponseMsg>('Set', { key: 'greeting', ...utf8('hello') });
      expect(set.stored).to.equal(true);
      expect(set.version!.node).to.equal('n1');
      const got = await c.cache<GetResponseMsg>('Get', { key: 'greeting' });
      expect(got.found).to.equal(true);
      expect(got.value.toString()).to.equal('hello');
      expect(got.text).to.equal('hello');
      expect(got.version).to.deep.equal(set.version);
    });

    it('stores `text` as UTF-8 when value is empty (the grpcurl-friendly form)', async () => {
      await c.cache('Set', { key: 'typed', text: 'plain words' });
      const got = await c.cache<GetResponseMsg>('Get', { key: 'typed' });
      expect(got.flags).to.equal(1);
      expect(got.text).to.equal('plain words');
    });

    it('answers found=false for an absent key', async () => {
      const got = await c.cache<GetResponseMsg>('Get', { key: 'never-set' });
      expect(got.found).to.equal(false);
    });

    it('honours set modes: IF_ABSENT and IF_PRESENT', async () => {
      expect((await c.cache<SetResponseMsg>('Set', { key: 'mode', ...utf8('a'), mode: 1 })).stored).to.equal(
        true,
      );
      expect((await c.cache<SetResponseMsg>('Set', { key: 'mode', ...utf8('b'), mode: 1 })).stored).to.equal(
        false,
      );
      expect(
        (await c.cache<SetResponseMsg>('Set', { key: 'mode-absent', ...utf8('b'), mode: 2 })).stored,
      ).to.equal(false);
      expect((await c.cache<SetResponseMsg>('Set', { key: 'mode', ...utf8('c'), mode: 2 })).stored).to.equal(
        true,
      );
      expect((await c.cache<GetResponseMsg>('Get', { key: 'mode' })).text).to.equal('c');
    });

    it('deletes a key', async () => {
      await c.cache('Set', { key: 'doomed', ...utf8('x') });
      expect((await c.cache<{ deleted: boolean }>('Delete', { key: 'doomed' })).deleted).to.equal(true);
      expect((await c.cache<{ deleted: boolean }>('Delete', { key: 'doomed' })).deleted).to.equal(false);
      expect((await c.cache<GetResponseMsg>('Get', { key: 'doomed' })).found).to.equal(false);
    });

    it('touches a key with a new TTL and reports it', async () => {
      await c.cache('Set', { key: 'touched', ...utf8('x') });
      expect((await c.cache<GetResponseMsg>('Get', { key: 'touched' })).ttlMs).to.equal(0);
      const touchedAt = Date.now();
      expect((await c.cache<{ found: boolean }>('Touch', { key: 'touched', ttlMs: 60_000 })).found).to.equal(
        true,
      );
      const ttl = (await c.cache<GetResponseMsg>('Get', { key: 'touched' })).ttlMs;
      // What is left of the 60 s: no more, and no less than the time since the touch allows.
      expect(ttl).to.be.within(60_000 - (Date.now() - touchedAt) - 1, 60_000);
      expect((await c.cache<{ found: boolean }>('Touch', { key: 'not-there', ttlMs: 1000 })).found).to.equal(
        false,
      );
    });

    it('increments a counter from its initial value', async () => {
      expect(
        (await c.cache<{ value: number }>('Increment', { key: 'hits', delta: 5, initial: 100 })).value,
      ).to.equal(105);
      expect((await c.cache<{ value: number }>('Increment', { key: 'hits', delta: -10 })).value).to.equal(95);
      expect((await c.cache<GetResponseMsg>('Get', { key: 'hits' })).text).to.equal('95');
    });

    it('compare-and-sets against the version it read', async () => {
      const first = await c.cache<SetResponseMsg>('Set', { key: 'cas', ...utf8('v1') });
      const res = await c.cache<{ version: { timestamp: number } }>('CompareAndSet', {
        key: 'cas',
        expected: first.version,
        ...utf8('v2'),
      });
      expect(res.version.timestamp).to.be.greaterThan(first.version!.timestamp);
      expect((await c.cache<GetResponseMsg>('Get', { key: 'cas' })).text).to.equal('v2');
    });

    it('gets and sets many keys in order', async () => {
      const items = ['m1', 'm2', 'm3'].map((key) => ({ key, ...utf8(`value-of-${key}`) }));
      const set = await c.cache<{ results: { code: number }[] }>('SetMany', { items });
      expect(set.results.map((r) => r.code)).to.deep.equal([0, 0, 0]);
      const got = await c.cache<GetManyResponseMsg>('GetMany', { keys: ['m3', 'absent', 'm1'] });
      expect(got.results.map((r) => (r.found ? r.value.toString() : null))).to.deep.equal([
        'value-of-m3',
        null,
        'value-of-m1',
      ]);
    });

    it('answers a Pipeline frame with one result per operation, in order', async () => {
      // Operations of one frame run concurrently: the get reads a key written before the frame.
      await c.cache('Set', { key: 'p-read', ...utf8('hello') });
      const conn = new PipelineConnection({ address: t.address('n1') });
      try {
        const deadline = Date.now() + 5000;
        const results = await Promise.all([
          conn.send(
            {
              op: 'set',
              set: { key: 'p1', value: Buffer.from('one'), flags: 1, ttlMs: 0, mode: 0, consistency: 0 },
            },
            deadline,
          ),
          conn.send({ op: 'get', get: { key: 'p-read', consistency: 0 } }, deadline),
          conn.send(
            {
              op: 'increment',
              increment: { key: 'p-counter', delta: 2, initial: 0, ttlMs: 0, consistency: 0 },
            },
            deadline,
          ),
        ]);
        expect(conn.framesSent).to.equal(1);
        expect(results.map((r) => r.code)).to.deep.equal([0, 0, 0]);
        expect(results[1].get!.value.toString()).to.equal('hello');
        expect(results[2].increment!.value).to.equal(2);
      } finally {
        conn.close();
      }
    });

    it('reports the topology and stats of the node', async () => {
      const topo = await c.cluster<{
        members: { id: string; state: number }[];
        answeredBy: string;
        vnodes: number;
      }>('Topology', {});
      expect(topo.members.map((m) => m.id)).to.deep.equal(['n1']);
      expect(topo.answeredBy).to.equal('n1');
      const before = await c.cluster<StatsResponseMsg>('Stats', {});
      await c.cache('Set', { key: 'counted', ...utf8('x') });
      await c.cache('Get', { key: 'counted' });
      await c.cache('Get', { key: 'counted-absent' });
      const stats = await c.cluster<StatsResponseMsg>('Stats', {});
      expect(stats.keys).to.be.at.least(1);
      // One node and nothing else calling it: exactly this test's hit and miss.
      expect(Number(stats.hits) - Number(before.hits), 'hits').to.equal(1);
      expect(Number(stats.misses) - Number(before.misses), 'misses').to.equal(1);
    });
  });

  it("runs with glibc malloc's settings for a node (those of the caller's environment first)", () => {
    const environ = readFileSync(`/proc/${t.cluster.pid('n1')}/environ`, 'latin1').split('\0');
    for (const [name, value] of Object.entries(NODE_ENV_DEFAULTS))
      expect(environ, name).to.include(`${name}=${process.env[name] ?? value}`);
  });

  describe('HTTP: /metrics and /healthz', () => {
    it('serves Prometheus text with typed counters that move with the traffic, and SERVING', async () => {
      const http = t.config.nodes[0]!.http;
      const scrape = async () => {
        const res = await fetch(`http://${http}/metrics`);
        expect(res.status).to.equal(200);
        return res.text();
      };
      const hits = (body: string) =>
        Number(/^ringcache_store_hits_total\{node="n1"\} (\d+)$/m.exec(body)?.[1] ?? NaN);
      const before = await scrape();
      expect(before).to.match(/^# TYPE ringcache_store_hits_total counter$/m);
      expect(before).to.match(/^# TYPE ringcache_store_keys gauge$/m);
      expect(before).to.match(/^process_resident_memory_bytes\{node="n1"\} \d+/m);
      expect(before).to.match(/^nodejs_eventloop_lag_seconds\{node="n1"\} /m);
      await c.cache('Set', { key: 'scraped', ...utf8('x') });
      await c.cache('Get', { key: 'scraped' });
      expect(hits(await scrape())).to.equal(hits(before) + 1);
      const health = await fetch(`http://${http}/healthz`);
      expect(health.status).to.equal(200);
      expect(await health.text()).to.equal('SERVING\n');
      expect((await fetch(`http://${http}/nope`)).status).to.equal(404);
    });
  });

  describe('request metrics', () => {
    /** One sample's value from Prometheus text: `name{...}` with every label of `labels`. */
    const sample = (body: string, name: string, labels: Record<string, string>): number => {
      for (const line of body.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
          return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return 0;
    };

    it('counts Cache operations by method and code, alone and in Pipeline frames, with their times', async () => {
      const http = t.config.nodes[0]!.http;
      const scrape = async () => (await fetch(`http://${http}/metrics`)).text();
      const before = await scrape();
      await c.cache('Get', { key: 'metered' });
      const refused = await c.cache('Set', { key: '', ...utf8('x') }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.not.equal(undefined);
      const sdk = await RingCache.connect({ seeds: [t.config.nodes[0]!.address] });
      try {
        await sdk.set('metered', 'v');
      } finally {
        await sdk.close();
      }
      const after = await scrape();
      const moved = (name: string, labels: Record<string, string>) =>
        sample(after, name, labels) - sample(before, name, labels);
      expect(moved('ringcache_requests_total', { method: 'get', code: 'OK' })).to.be.at.least(1);
      expect(moved('ringcache_requests_total', { method: 'set', code: 'INVALID_ARGUMENT' })).to.be.at.least(
        1,
      );
      expect(moved('ringcache_requests_total', { method: 'set', code: 'OK' })).to.be.at.least(1);
      expect(after).to.match(/^# TYPE ringcache_request_duration_seconds histogram$/m);
      expect(moved('ringcache_request_duration_seconds_count', { method: 'get' })).to.be.at.least(1);
      expect(
        sample(after, 'ringcache_request_duration_seconds_bucket', { method: 'get', le: '+Inf' }),
      ).to.equal(sample(after, 'ringcache_request_duration_seconds_count', { method: 'get' }));
    });
  });

  describe('reflection and health, with no .proto at hand', () => {
    for (const version of ['v1', 'v1alpha'] as const) {
      it(`lists the public services through reflection ${version}`, async () => {
        const r = new ReflectionClient(t.address('n1'), version);
        try {
          const services = await r.listServices();
          expect(services).to.include.members([
            'ringcache.v1.Cache',
            'ringcache.v1.Cluster',
            'grpc.health.v1.Health',
          ]);
          expect(services).to.not.include('ringcache.v1.Peer');
        } finally {
          r.close();
        }
      });
    }

    it('describes ringcache.v1.Cache and grpc.health.v1.Health', async () => {
      const r = new ReflectionClient(t.address('n1'));
      try {
        const cache = await r.describeService('ringcache.v1.Cache');
        expect(cache).to.include('Get(.ringcache.v1.GetRequest) returns (.ringcache.v1.GetResponse)');
        expect(cache).to.include(
          'Pipeline(stream .ringcache.v1.PipelineRequest) returns (stream .ringcache.v1.PipelineResponse)',
        );
        const health = await r.describeService('grpc.health.v1.Health');
        expect(health).to.include(
          'Check(.grpc.health.v1.HealthCheckRequest) returns (.grpc.health.v1.HealthCheckResponse)',
        );
      } finally {
        r.close();
      }
    });

    it('says SERVING through grpc.health.v1', async () => {
      const h = new HealthClient(t.address('n1'));
      try {
        expect(await h.check()).to.equal('SERVING');
        expect(await h.check('ringcache.v1.Cache')).to.equal('SERVING');
      } finally {
        h.close();
      }
    });
  });

  describe('bad input', () => {
    it('refuses an empty key with INVALID_ARGUMENT', () =>
      expectStatus(c.cache('Get', { key: '' }), grpc.status.INVALID_ARGUMENT, /key is empty/));

    it('refuses a key over max_key_bytes, naming the limit', () =>
      expectStatus(
        c.cache('Set', { key: 'k'.repeat(65), ...utf8('x') }),
        grpc.status.INVALID_ARGUMENT,
        /65 bytes.*max_key_bytes is 64/,
      ));

    it('refuses a value over max_value_bytes, naming the limit', () =>
      expectStatus(
        c.cache('Set', { key: 'big', value: Buffer.alloc(5000), flags: 0 }),
        grpc.status.INVALID_ARGUMENT,
        /5000 bytes.*max_value_bytes is 4096/,
      ));

    it('refuses an absurd TTL', () =>
      expectStatus(
        c.cache('Set', { key: 'ttl', ...utf8('x'), ttlMs: 1e15 }),
        grpc.status.INVALID_ARGUMENT,
        /ttl/,
      ));

    it('refuses unknown flags', () =>
      expectStatus(
        c.cache('Set', { key: 'flags', value: Buffer.from('x'), flags: 7 }),
        grpc.status.INVALID_ARGUMENT,
        /flags must be 0 \(raw\), 1 \(utf8\) or 2 \(msgpack\); got 7/,
      ));

    it('refuses to increment a value that is not an integer', async () => {
      await c.cache('Set', { key: 'word', ...utf8('hello') });
      await expectStatus(
        c.cache('Increment', { key: 'word', delta: 1 }),
        grpc.status.FAILED_PRECONDITION,
        /not an integer/,
      );
    });

    it('refuses a compare-and-set with a stale version, saying which version is current', async () => {
      const first = await c.cache<SetResponseMsg>('Set', { key: 'stale', ...utf8('a') });
      await c.cache('Set', { key: 'stale', ...utf8('b') });
      await expectStatus(
        c.cache('CompareAndSet', { key: 'stale', expected: first.version, ...utf8('c') }),
        grpc.status.FAILED_PRECONDITION,
        /version/,
      );
      expect((await c.cache<GetResponseMsg>('Get', { key: 'stale' })).text).to.equal('b');
    });

    it('answers a Pipeline frame holding one bad operation: the others succeed, each result has its own status', async () => {
      await c.cache('Set', { key: 'f1', ...utf8('1') }); // read in the frame, whose operations run concurrently
      const conn = new PipelineConnection({ address: t.address('n1') });
      try {
        const deadline = Date.now() + 5000;
        const [ok1, bad, ok2] = await Promise.all([
          conn.send(
            {
              op: 'set',
              set: { key: 'f2', value: Buffer.from('2'), flags: 1, ttlMs: 0, mode: 0, consistency: 0 },
            },
            deadline,
          ),
          conn.send(
            {
              op: 'set',
              set: {
                key: 'k'.repeat(100),
                value: Buffer.from('1'),
                flags: 1,
                ttlMs: 0,
                mode: 0,
                consistency: 0,
              },
            },
            deadline,
          ),
          conn.send({ op: 'get', get: { key: 'f1', consistency: 0 } }, deadline),
        ]);
        expect(conn.framesSent).to.equal(1);
        expect(ok1.code).to.equal(Code.OK);
        expect(bad.code).to.equal(Code.INVALID_ARGUMENT);
        expect(bad.error).to.equal('KEY_TOO_LARGE');
        expect(bad.message).to.match(/max_key_bytes/);
        expect(ok2.code).to.equal(Code.OK);
        expect(ok2.get!.value.toString()).to.equal('1');
      } finally {
        conn.close();
      }
    });

    it('evicts instead of crashing when filled past max_memory, and keeps serving', async () => {
      const value = Buffer.alloc(4000, 7);
      for (let i = 0; i < 600; i++) await c.cache('Set', { key: `fill-${i}`, value, flags: 0 }); // ~2.4 MB into 1 MB
      const stats = await c.cluster<StatsResponseMsg>('Stats', {});
      expect(stats.evictions).to.be.greaterThan(0);
      expect(stats.bytes).to.be.at.most(stats.maxBytes);
      expect((await c.cache<GetResponseMsg>('Get', { key: 'fill-599' })).found).to.equal(true);
      expect(t.crashes).to.deep.equal([]);
    });
  });
});

describe('a single node stopped with SIGTERM (graceful shutdown)', () => {
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 1 });
  });
  after(() => t?.stop());

  it('turns NOT_SERVING, then exits 0', async () => {
    const h = new HealthClient(t.address('n1'));
    try {
      const watch = h.watch();
      const statuses: string[] = [];
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      watch.on('error', () => undefined); // cancelled when the server goes away
      await once(watch, 'data');
      expect(statuses).to.deep.equal(['SERVING']);
      const exited = t.cluster.stopNode('n1');
      // The process may be reaped before its last stream message is read here: await the message.
      await until('NOT_SERVING on the health watch', () => statuses.includes('NOT_SERVING'));
      expect((await exited)!.code).to.equal(0);
    } finally {
      h.close();
    }
  });
});
