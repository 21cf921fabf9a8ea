import { expect } from 'chai';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../../src/proto/load';
import { METADATA } from '../../src/proto/messages';
import { deserializePackedFrame, packFrame, serializePackedFrame, unpackFrame } from '../../src/proto/packed';
import { HealthClient } from '../support/grpc-tools';
import { TestCluster } from '../support/cluster';
import { rssMb } from '../../bench/proc-cpu';
import { seededRandom } from '../support/seeded-random';

/**
 * Hostile bytes at every method of Cache, Cluster and Peer, through a raw client (no serializers),
 * then structured packed frames from fast-check. After each batch the node still says SERVING, its
 * RSS stays bounded, the sentinel keys read back unchanged, and no answer was INTERNAL or UNKNOWN.
 *
 * Each part runs a fixed number of cases from a fixed seed, so a run is the same run whatever the
 * machine's load (a time budget ran fewer cases on a busy machine, and different ones each time).
 * FUZZ_RUNS (cases per part) and FUZZ_SEED override both; FUZZ_SEED=random picks a new seed, which a
 * failure prints with the command that replays it. `npm run fuzz` runs more cases from a new seed.
 */
const RUNS = positiveInteger('FUZZ_RUNS', 1000);
const SEED =
  process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : positiveInteger('FUZZ_SEED', 7);
const REPLAY = `FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm run fuzz`;

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new TypeError(`${name} is ${JSON.stringify(text)}; expected an integer >= 0`);
  return n;
}

/**
 * Ring changes and flushes from random bytes would be real ones (a flush deleting the sentinels is
 * doing its job): these are tested with their own inputs.
 */
const SKIPPED = new Set([
  '/ringcache.v1.Cluster/Join',
  '/ringcache.v1.Cluster/Leave',
  '/ringcache.v1.Cluster/Flush',
  '/ringcache.v1.Peer/Flush',
  '/ringcache.v1.Peer/ApplyRing',
  '/ringcache.v1.Peer/ProposeRing',
]);
const BAD = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

function methods(): Method[] {
  const out: Method[] = [];
  const { Cache, Cluster, Peer } = loadServices();
  for (const service of [Cache, Cluster, Peer]) {
    for (const m of Object.values(service.service)) {
      if (!SKIPPED.has(m.path))
        out.push({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream });
    }
  }
  return out;
}

/** Random bytes, or a valid-looking prefix mutated: flipped, cut, extended. */
function payload(rand: () => number): Buffer {
  const n = Math.floor(rand() * 64);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  if (rand() < 0.5 && n > 0) b[0] = 0x0a; // field 1, length-delimited: gets past the first byte
  return b;
}

/**
 * One call of `m` with `bodies`, sent with the cluster's secret (the Peer service decodes what a peer
 * holding it sends, hostile or not); its status code (a stream is cancelled after 300 ms).
 */
function call(client: grpc.Client, m: Method, bodies: Buffer[], token: string): Promise<number> {
  const id = (b: Buffer) => b;
  const deadline = Date.now() + 2000;
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set(METADATA.clusterToken, token);
    if (!m.requestStream && !m.responseStream) {
      client.makeUnaryRequest(m.path, id, id, bodies[0]!, md, { deadline }, (err) => resolve(err?.code ?? 0));
      return;
    }
    const c = m.requestStream
      ? client.makeBidiStreamRequest(m.path, id, id, md, { deadline })
      : client.makeServerStreamRequest(m.path, id, id, bodies[0]!, md, { deadline });
    c.on('data', () => undefined);
    c.on('error', () => undefined);
    c.on('status', (s: grpc.StatusObject) => resolve(s.code));
    if (m.requestStream) {
      const w = c as grpc.ClientDuplexStream<Buffer, Buffer>;
      for (const b of bodies) w.write(b);
      w.end();
    }
    setTimeout(() => c.cancel(), 300).unref();
  });
}

describe('fuzzing the wire', function () {
  // Under a second per 100 cases of either part on an idle machine; the margin is for a loaded one.
  this.timeout(60_000 + RUNS * 100);
  let t: TestCluster;
  const sentinels = new Map<string, string>();

  before(async () => {
    if (process.env.FUZZ_SEED === 'random') console.log(`      fuzz seed ${SEED} (${REPLAY})`);
    t = await TestCluster.start({ nodes: 1, factor: 1, writeQuorum: 1, readQuorum: 1 });
    const cache = await t.client();
    for (let i = 0; i < 20; i++) {
      sentinels.set(`sentinel-${i}`, `value ${i}`);
      await cache.set(`sentinel-${i}`, `value ${i}`);
    }
  });
  after(() => t?.stop());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`      fuzz seed ${SEED}; replay: ${REPLAY}`);
  });

  async function nodeIsWell(): Promise<void> {
    const health = new HealthClient(t.address('n1'));
    try {
      expect(await health.check()).to.equal('SERVING');
    } finally {
      health.close();
    }
    const cache = await t.client();
    for (const [key, value] of sentinels) expect(await cache.get(key), key).to.equal(value);
    expect(rssMb(t.cluster.pid('n1')!), 'node RSS in MB').to.be.below(600);
  }

  it('answers random and mutated bytes at every method without INTERNAL or UNKNOWN', async () => {
    const rand = seededRandom(SEED);
    const client = new grpc.Client(t.address('n1'), grpc.credentials.createInsecure());
    const all = methods();
    const bad: string[] = [];
    let calls = 0;
    // RUNS calls in all: rounds of one call at every method at once.
    const rounds = Math.ceil(RUNS / all.length);
    try {
      for (let round = 1; round <= rounds; round++) {
        await Promise.all(
          all.map(async (m) => {
            const bodies = Array.from({ length: m.requestStream ? 3 : 1 }, () => payload(rand));
            const code = await call(client, m, bodies, t.clusterToken);
            calls++;
            if (BAD.has(code))
              bad.push(`${m.path} ${code} ${bodies.map((b) => b.toString('hex')).join(',')}`);
          }),
        );
        if (round % 10 === 0) await nodeIsWell();
      }
    } finally {
      client.close();
    }
    expect(bad.slice(0, 5), `${bad.length} of ${calls} calls`).to.deep.equal([]);
    await nodeIsWell();
  });

  it('answers structured packed frames with one result per operation, none INTERNAL or UNKNOWN', async () => {
    const client = new grpc.Client(t.address('n1'), grpc.credentials.createInsecure());
    const field = fc.oneof(
      fc.string({ maxLength: 20 }).filter((s) => !s.startsWith('sentinel')),
      fc.integer(),
      fc.double(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), // what msgpack's 64-bit ints hold
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const op = fc
      .tuple(fc.integer({ min: -1, max: 6 }), fc.array(field, { maxLength: 9 }))
      .map(([k, rest]) => [k, ...rest]);
    const frames = fc.array(op, { minLength: 1, maxLength: 8 });
    try {
      await fc.assert(
        fc.asyncProperty(frames, async (ops) => {
          const reply = await new Promise<unknown[]>((resolve, reject) => {
            const c = client.makeBidiStreamRequest<Buffer, Buffer>(
              '/ringcache.v1.Cache/PipelinePacked',
              serializePackedFrame,
              deserializePackedFrame,
              new grpc.Metadata(),
              { deadline: Date.now() + 3000 },
            );
            c.on('data', (b: Buffer) => resolve(unpackFrame(b)));
            c.on('error', reject);
            c.write(packFrame(1, 1000, ops));
            c.end();
          });
          const results = reply.slice(2) as unknown[][];
          expect(results).to.have.lengthOf(ops.length);
          for (const r of results) expect(BAD.has(r[0] as number), String(r[1])).to.equal(false);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    } finally {
      client.close();
    }
    await nodeIsWell();
  });
});
