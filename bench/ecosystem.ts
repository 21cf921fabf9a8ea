/**
 * `npm run bench:ecosystem`: the figures issue 14 asks for, on a local 3-node cluster (N=3), one
 * key read in a closed loop of `--loops` concurrent callers for `--seconds` each:
 * - get through a client with a near cache (hits) against a plain remote get;
 * - getOrSet on a present key (its hit path) against get;
 * - get with @opentelemetry/api loaded but no SDK registered (no-op), and with a registered SDK
 *   exporting to memory (BatchSpanProcessor), against get with tracing disabled.
 * Flags: --seconds S --loops N
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { RingCache } from '../src/index';
import { LocalCluster } from '../src/cli/local-cluster';
import { testConfig } from '../test/support/cluster';
import { flag } from './flags';

const seconds = Number(flag('seconds', '3'));
const loops = Number(flag('loops', '32'));

/** Each caller reads its own key, so getOrSet's in-process single flight does not merge them. */
async function rate(what: string, call: (key: string) => Promise<unknown>): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, i) => {
      while (Date.now() < until) {
        await call(`bench:key:${i}`);
        // A near-cache hit resolves at once: let I/O in now and then, as a real app's loop does.
        if (++done % 256 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  const perSecond = done / seconds;
  console.log(`| ${what} | ${Math.round(perSecond).toLocaleString('en-US')} |`);
  return perSecond;
}

async function main(): Promise<void> {
  const config = await testConfig({ nodes: 3, factor: 3 });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  try {
    await cluster.start();
    const seeds = config.nodes.map((n) => n.address);
    const plain = await RingCache.connect({ seeds });
    const near = await RingCache.connect({ seeds, nearCache: {} });
    for (let i = 0; i < loops; i++) await plain.set(`bench:key:${i}`, { some: 'value', n: i });
    await new Promise((r) => setTimeout(r, 500)); // the near cache's change streams open
    console.log(`| ${loops} callers, ${seconds} s each | ops/s |`);
    console.log('|---|---:|');
    const quiet = console.log;
    console.log = () => undefined;
    await rate('warm-up', (k) => plain.get(k));
    console.log = quiet;
    await rate('get (remote; @opentelemetry/api loaded, no SDK: no-op spans)', (k) => plain.get(k));
    await rate('get (near cache hit)', (k) => near.get(k));
    await rate('getOrSet, key present', (k) => plain.getOrSet(k, () => 'unused'));
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    await rate('get, OpenTelemetry SDK recording (batch, in memory)', (k) => plain.get(k));
    await provider.forceFlush();
    // The batch processor's queue (2048) drops what it cannot keep up with: the spans were made and ended.
    console.log(`| (spans exported: ${exporter.getFinishedSpans().length.toLocaleString('en-US')}) | |`);
    await provider.shutdown();
    trace.disable();
    await plain.close();
    await near.close();
  } finally {
    await cluster.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
