/**
 * `npm run bench:abuse`: floods one node of a 3-node cluster (max_memory 64 MiB) the way a careless
 * or hostile client would, one after the other, while a victim client does a Get and a Set on the
 * same node every 50 ms. Prints, per flood, the node's RSS before and at its peak and the victim's
 * p50/p99/max latency and failed calls, and how many of the 10,000 keys of 1 KiB written before the
 * floods the node evicted during each (its store stays below max_memory, so any is the memory
 * guard's), and how often n1's peers saw it suspect or dead meanwhile. Run it on two builds to
 * compare (a git worktree of the older commit). The floods: Watch streams and a Pipeline stream
 * that never read, GetMany past max_reply_bytes and within it, a GetMany past max_request_bytes and
 * Pipeline frames past max_batch_keys, Sets of 1 MiB (32 at a time on four connections, 500 at a
 * time on one, and 500 PipelinePacked streams of one each), 4,000 streams each sending a quarter
 * of a 1 MiB Set and then nothing, 10,000 WatchTopology streams left open, deletes of absent keys,
 * silent connections. Flags: --watchers N
 * (200) --deletes N (40000) --connections N (2000) --seconds S (8: each of the large-request floods) --only TEXT (only the floods whose name holds it, e.g. --only GetMany)
 * --breakdown (also prints, per flood, what n1's /metrics said at its highest RSS: V8's heap in use
 * and committed, its external memory, the store, and the bytes held for clients)
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster';
import { UnaryClient } from '../src/cli/unary-client';
import { loadServices } from '../src/proto/load';
import { deserializePackedFrame, packFrame, serializePackedFrame } from '../src/proto/packed';
import { MemberStateWire, type TopologyResponseMsg } from '../src/proto/messages';
import { testConfig } from '../test/support/cluster';
import { latencyOf } from '../test/support/victim';
import { metricsText, sampleIn } from '../test/support/node-metrics';
import { flag } from './flags';
import { rssMb } from './proc-cpu';

const watchers = Number(flag('watchers', '200'));
const deletes = Number(flag('deletes', '40000'));
const connections = Number(flag('connections', '2000'));
const seconds = Number(flag('seconds', '8'));
const only = flag('only', '');
const breakdown = process.argv.includes('--breakdown');

/** What n1's memory is made of, read from /metrics (MB). */
const BREAKDOWN: Record<string, [string, string?]> = {
  rss: ['process_resident_memory_bytes'],
  heapUsed: ['nodejs_heap_size_used_bytes'],
  heapTotal: ['nodejs_heap_size_total_bytes'],
  newSpace: ['nodejs_heap_space_size_total_bytes{', 'space="new"'],
  oldSpace: ['nodejs_heap_space_size_total_bytes{', 'space="old"'],
  largeObjects: ['nodejs_heap_space_size_total_bytes{', 'space="large_object"'],
  external: ['nodejs_external_memory_bytes'],
  store: ['ringcache_store_bytes'],
  clientIn: ['ringcache_client_input_bytes'],
  clientOut: ['ringcache_client_output_bytes'],
  rest: ['ringcache_memory_rest_bytes'],
};

/** Samples n1's /metrics every 200 ms; `stop()` gives the first sample and the one of highest RSS. */
function sampleBreakdown(http: string) {
  let best: Record<string, number> | undefined;
  let first: Record<string, number> | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      const text = await metricsText(http).catch(() => '');
      const sample: Record<string, number> = {};
      for (const [short, [name, label]] of Object.entries(BREAKDOWN))
        sample[short] = sampleIn(text, name, label) / (1024 * 1024);
      if (!Number.isNaN(sample.rss)) {
        first ??= sample;
        if (!best || sample.rss! > best.rss!) best = sample;
      }
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      const line = (m: Record<string, number> | undefined) =>
        Object.entries(m ?? {})
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ');
      return `at first ${line(first)}; at its highest RSS ${line(best)}`;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Flood {
  name: string;
  run(address: string, client: UnaryClient): Promise<void>;
}

const value1k = Buffer.alloc(1000, 1);

/** Four clients each send `call()` eight at a time, one after another, for `seconds`; failures ignored. */
async function flood32(
  address: string,
  call: (c: UnaryClient, i: number) => Promise<unknown>,
): Promise<void> {
  const clients = Array.from({ length: 4 }, () => new UnaryClient(address, 60_000));
  const endAt = Date.now() + seconds * 1000;
  let i = 0;
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: 8 }, async () => {
        while (Date.now() < endAt) await call(c, i++).catch(() => undefined);
      }),
    ),
  );
  for (const c of clients) c.close();
}

/**
 * Asks n1's peers every 50 ms, until stopped, how their gossip sees n1: `notAlive` of `samples`
 * answers had it suspect or dead (a flood that starves n1 of CPU can delay its probes' answers).
 */
function watchSuspicion(peers: UnaryClient[]): { stop(): Promise<{ samples: number; notAlive: number }> } {
  let samples = 0;
  let notAlive = 0;
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      for (const peer of peers) {
        const topology = await peer.cluster<TopologyResponseMsg>('Topology', {}).catch(() => undefined);
        const n1 = topology?.members.find((m) => m.id === 'n1');
        if (!n1) continue;
        samples++;
        if (n1.state !== MemberStateWire.ALIVE) notAlive++;
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await polling;
      return { samples, notAlive };
    },
  };
}

const floods: Flood[] = [
  {
    name: `${watchers} Watch streams that never read, 20 MB written`,
    async run(address, client) {
      const { Cache } = loadServices();
      const cache = new Cache(address, grpc.credentials.createInsecure());
      const calls = Array.from({ length: watchers }, () => {
        const call = (cache as unknown as { Watch(req: object): grpc.ClientReadableStream<unknown> }).Watch({
          prefix: '',
        });
        call.on('error', () => undefined);
        return call;
      });
      for (let i = 0; i < 40; i++) {
        const items = Array.from({ length: 500 }, (_, j) => ({ key: `w/${i}/${j}`, value: value1k }));
        await client.cache('SetMany', { items }).catch(() => undefined);
      }
      for (const c of calls) c.cancel();
      cache.close();
    },
  },
  {
    name: 'a Pipeline stream of 40 frames (256 MB of replies) never read',
    async run(address, client) {
      await client.cache('Set', { key: 'p64', value: Buffer.alloc(64 * 1024, 3), consistency: 3 });
      const c = new grpc.Client(address, grpc.credentials.createInsecure());
      const call = c.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
      );
      call.on('error', () => undefined);
      const gets = new Array<unknown>(100).fill([0, 'p64', 0]);
      for (let f = 1; f <= 40; f++) call.write(packFrame(f, 60_000, gets));
      await sleep(5000);
      call.cancel();
      c.close();
    },
  },
  {
    // max_reply_bytes is 8 MiB at max_memory 64 MiB: this reply is as large as one may be.
    name: `GetMany of 7.8 MiB (one 100 KiB key 80 times, within max_reply_bytes), 32 at a time for ${seconds} s`,
    async run(address, client) {
      await client.cache('Set', { key: 'big', value: Buffer.alloc(100 * 1024, 2), consistency: 3 });
      const keys = new Array<string>(80).fill('big');
      await flood32(address, (c) => c.cache('GetMany', { keys }));
    },
  },
  {
    name: `GetMany of one 64 KiB key 4,096 times (past max_reply_bytes), 32 at a time for ${seconds} s`,
    async run(address, client) {
      await client.cache('Set', { key: 'big64', value: Buffer.alloc(64 * 1024, 4), consistency: 3 });
      const keys = new Array<string>(4096).fill('big64');
      await flood32(address, (c) => c.cache('GetMany', { keys }));
    },
  },
  {
    name: `GetMany of a million keys (past max_request_bytes), 32 at a time for ${seconds} s`,
    async run(address) {
      const keys = Array.from({ length: 1_000_000 }, (_, i) => `k${i}`);
      await flood32(address, (c) => c.cache('GetMany', { keys }));
    },
  },
  {
    name: `PipelinePacked frames of a million gets (past max_batch_keys), 8 in flight for ${seconds} s`,
    async run(address) {
      const frame = packFrame(1, 60_000, new Array<unknown>(1_000_000).fill([0, 'k', 0]));
      const c = new grpc.Client(address, grpc.credentials.createInsecure());
      const call = c.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
      );
      const endAt = Date.now() + seconds * 1000;
      let inFlight = 0;
      await new Promise<void>((resolve) => {
        const more = () => {
          if (Date.now() >= endAt) return inFlight === 0 && resolve();
          while (inFlight < 8) {
            inFlight++;
            call.write(frame);
          }
        };
        call.on('error', () => resolve());
        call.on('data', () => {
          inFlight--;
          more();
        });
        more();
      });
      call.end();
      c.close();
    },
  },
  {
    name: `Sets of 1 MiB (to 16 keys), 32 at a time for ${seconds} s`,
    async run(address) {
      const big = Buffer.alloc(1024 * 1024, 3);
      await flood32(address, (c, i) => c.cache('Set', { key: `flood/${i % 16}`, value: big }));
    },
  },
  {
    name: `Sets of 1 MiB (to 16 keys), 500 at a time on one connection for ${seconds} s`,
    async run(address) {
      const big = Buffer.alloc(1024 * 1024, 3);
      const c = new UnaryClient(address, 120_000);
      const endAt = Date.now() + seconds * 1000;
      let i = 0;
      await Promise.all(
        Array.from({ length: 500 }, async () => {
          while (Date.now() < endAt)
            await c.cache('Set', { key: `flood/${i++ % 16}`, value: big }).catch(() => undefined);
        }),
      );
      c.close();
    },
  },
  {
    name: `PipelinePacked streams of one frame of a 1 MiB Set, 500 at a time on one connection for ${seconds} s`,
    async run(address) {
      const c = new grpc.Client(address, grpc.credentials.createInsecure());
      const big = Buffer.alloc(1024 * 1024, 3);
      const endAt = Date.now() + seconds * 1000;
      let i = 0;
      const one = () =>
        new Promise<void>((resolve) => {
          const call = c.makeBidiStreamRequest<Buffer, Buffer>(
            '/ringcache.v1.Cache/PipelinePacked',
            serializePackedFrame,
            deserializePackedFrame,
          );
          call.on('error', () => resolve());
          call.on('data', () => undefined);
          call.on('end', () => resolve());
          call.write(packFrame(1, 60_000, [[1, `flood/${i++ % 16}`, big, 0]]));
          call.end();
        });
      await Promise.all(
        Array.from({ length: 500 }, async () => {
          while (Date.now() < endAt) await one();
        }),
      );
      c.close();
    },
  },
  {
    name: '4 connections of 1,000 streams, each sending 256 KiB of a 1 MiB Set and then nothing, for 5 s',
    async run(address) {
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(1024 * 1024, 1);
      const part = Buffer.concat([prefix, Buffer.alloc(256 * 1024, 3)]);
      await streamFlood(address, 4, '/ringcache.v1.Cache/Set', (req) => {
        req.on('response', () => undefined);
        req.write(part);
      });
    },
  },
  {
    name: '10 connections of 1,000 WatchTopology streams, left open for 5 s',
    async run(address) {
      await streamFlood(address, 10, '/ringcache.v1.Cluster/WatchTopology', (req) => {
        req.resume(); // the topology it is sent, read and dropped
        req.end(Buffer.alloc(5)); // one empty TopologyRequest
      });
    },
  },
  {
    name: `${deletes} deletes of absent 1 KB keys`,
    async run(address) {
      const c = new grpc.Client(address, grpc.credentials.createInsecure());
      const call = c.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
      );
      const pad = 'd'.repeat(990);
      let answered = 0;
      const frames = Math.ceil(deletes / 2000);
      await new Promise<void>((resolve) => {
        call.on('error', () => resolve());
        call.on('data', () => ++answered >= frames && resolve());
        for (let f = 0; f < frames; f++) {
          const ops = Array.from({ length: 2000 }, (_, i) => [2, `${pad}${f * 2000 + i}`, 0]);
          call.write(packFrame(f + 1, 60_000, ops));
        }
      });
      call.end();
      c.close();
    },
  },
  {
    name: `${connections} silent TCP connections for 5 s`,
    async run(address) {
      const [host, port] = address.split(':');
      const sockets = Array.from({ length: connections }, () => {
        const s = net.connect(Number(port), host);
        s.on('error', () => undefined);
        s.resume();
        return s;
      });
      await sleep(5000);
      for (const s of sockets) s.destroy();
    },
  },
];

/**
 * `connections` raw HTTP/2 connections to `address`, each opening 1,000 streams to `path` at once
 * (`send` writes each its request), held for 5 s, then dropped.
 */
async function streamFlood(
  address: string,
  connections: number,
  path: string,
  send: (req: http2.ClientHttp2Stream) => void,
): Promise<void> {
  const sessions = Array.from({ length: connections }, () => {
    // Node limits what a session buffers to 10 MB by default, refusing its own streams past it.
    const session = http2.connect(`http://${address}`, { maxSessionMemory: 4000 });
    session.on('error', () => undefined); // streams and connections the node ends: the point
    return session;
  });
  for (const session of sessions) {
    for (let i = 0; i < 1000; i++) {
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.on('error', () => undefined);
      send(req);
    }
  }
  await sleep(5000);
  for (const session of sessions) session.destroy();
}

async function main(): Promise<void> {
  const config = await testConfig({ nodes: 3, maxMemoryBytes: 64 * 1024 * 1024 });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  const rows: string[] = [];
  try {
    await cluster.start();
    const address = config.nodes[0]!.address;
    const pid = cluster.pid('n1')!;
    const client = new UnaryClient(address, 10_000);
    const peers = config.nodes.slice(1).map((n) => new UnaryClient(n.address, 5_000));
    for (let i = 0; i < 10_000; i += 500) {
      const items = Array.from({ length: 500 }, (_, j) => ({
        key: `kept/${i + j}`,
        value: Buffer.alloc(1024, 1),
      }));
      await client.cache('SetMany', { items, consistency: 3 });
    }
    const evictions = async () => {
      const text = await fetch(`http://${config.nodes[0]!.http}/metrics`).then((r) => r.text());
      const line = text.split('\n').find((l) => l.startsWith('ringcache_store_evictions_total'));
      return Number(line?.split(' ').pop() ?? NaN);
    };
    for (const flood of floods.filter((f) => f.name.includes(only))) {
      process.stderr.write(`${flood.name}...\n`);
      await sleep(2000);
      const before = rssMb(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
      const suspicion = watchSuspicion(peers);
      const parts = breakdown ? sampleBreakdown(config.nodes[0]!.http) : undefined;
      const victim = await startVictim(address);
      const evictedBefore = await evictions();
      await flood.run(address, client);
      await sleep(1000);
      const { failures, latencies } = await victim.stop();
      const failed = failures.length;
      const v = latencyOf(latencies);
      clearInterval(sampler);
      const seen = await suspicion.stop();
      const evicted = (await evictions()) - evictedBefore;
      if (parts) process.stderr.write(`  n1 (MB) ${await parts.stop()}\n`);
      rows.push(
        `| ${flood.name} | ${before.toFixed(0)} | ${peak.toFixed(0)} | ${v.p50.toFixed(1)} | ` +
          `${v.p99.toFixed(1)} | ${v.max.toFixed(1)} | ${failed} | ${evicted} | ${seen.notAlive} of ${seen.samples} |`,
      );
    }
    client.close();
    for (const p of peers) p.close();
  } finally {
    await cluster.stop();
  }
  process.stdout.write(
    '| flood on n1 | RSS before MB | RSS peak MB | victim p50 ms | p99 ms | max ms | victim calls failed | keys evicted | n1 not alive to its peers |\n' +
      '|---|---|---|---|---|---|---|---|---|\n' +
      rows.join('\n') +
      '\n',
  );
}

/** A Victim on `address` in its own process (abuse-victim.ts), started. */
async function startVictim(address: string) {
  const child = fork(path.join(__dirname, 'abuse-victim.js'), [address], { stdio: 'inherit' });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the victim process exited (${code})`))),
  );
  exited.catch(() => undefined);
  await Promise.race([new Promise((resolve) => child.once('message', resolve)), exited]);
  return {
    stop: async () => {
      const report = new Promise<{ failures: string[]; latencies: number[] }>((resolve) =>
        child.once('message', resolve),
      );
      child.send('stop');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the victim process did not report within 30 s')), 30_000);
      });
      try {
        return await Promise.race([report, exited, late]);
      } finally {
        clearTimeout(timer);
        child.kill();
      }
    },
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
