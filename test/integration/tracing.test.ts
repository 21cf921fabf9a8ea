import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { RingCache } from '../../src/index';
import { TestCluster, until } from '../support/cluster';

/** Registers an SDK that records into a new exporter (after dropping whatever was registered). */
function recordSpans(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  trace.disable();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  return exporter;
}

describe('OpenTelemetry client spans (issue 14 §5)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  afterEach(() => trace.disable());
  after(async () => {
    trace.disable();
    await t?.stop();
  });

  it('records nothing while no OpenTelemetry SDK is registered', async () => {
    const exporter = recordSpans();
    const cache = await RingCache.connect({ seeds: t.seeds });
    try {
      await cache.set('otel:none', 1);
      expect(exporter.getFinishedSpans().map((s) => s.name)).to.deep.equal(['set']);
      trace.disable(); // the application drops its SDK: this client asks again on every call
      await cache.set('otel:none', 2);
      await cache.get('otel:none');
      expect(exporter.getFinishedSpans().map((s) => s.name)).to.deep.equal(['set']);
    } finally {
      await cache.close();
    }
  });

  it('makes a client span per call, with the database semantic conventions and the error when one fails', async () => {
    const exporter = recordSpans();
    const cache = await RingCache.connect({ seeds: t.seeds });
    try {
      await cache.set('otel:k', 'v');
      await cache.get('otel:k');
      await cache.incr('otel:n');
      await cache.get('x'.repeat(100_000)).catch(() => undefined);
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).to.deep.equal(['set', 'get', 'incr', 'get']);
      const [set] = spans;
      expect(set!.kind).to.equal(2); // CLIENT
      expect(set!.attributes['db.system.name']).to.equal('ringcache');
      expect(set!.attributes['db.operation.name']).to.equal('set');
      expect(set!.attributes['server.address']).to.equal('127.0.0.1');
      expect(t.config.nodes.map((n) => n.port)).to.include(set!.attributes['server.port']);
      const failed = spans[3]!;
      expect(failed.status.code).to.equal(2); // ERROR
      expect(failed.attributes['error.type']).to.equal('KEY_TOO_LARGE');
    } finally {
      await cache.close();
    }
  });
});

interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** An OTLP/HTTP (JSON) collector on a free port: what the nodes export. */
async function collector(): Promise<{ server: Server; url: string; spans: CollectedSpan[] }> {
  const spans: CollectedSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        const msg = JSON.parse(body) as {
          resourceSpans?: { scopeSpans?: { spans?: CollectedSpan[] }[] }[];
        };
        // An exporter may send a batch again (a retry): one entry per span id.
        for (const rs of msg.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const span of ss.spans ?? [])
              if (!spans.some((x) => x.spanId === span.spanId)) spans.push(span);
      } catch {
        // not JSON: ignored
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}`, spans };
}

describe('OpenTelemetry across the wire: node spans under the client span (issue 14 §5)', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let c: Awaited<ReturnType<typeof collector>>;

  before(async () => {
    c = await collector();
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 3,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: c.url },
    });
  });
  after(async () => {
    trace.disable();
    await t?.stop();
    c?.server.close();
  });

  it('carries the trace context in the frame: the coordinator and its replica writes are children of the call', async () => {
    const exporter = recordSpans();
    const cache = await RingCache.connect({ seeds: t.seeds });
    try {
      await cache.set('otel:traced', 'v');
      const client = exporter.getFinishedSpans().find((s) => s.name === 'set')!;
      const traceId = client.spanContext().traceId;
      const clientSpanId = client.spanContext().spanId;
      // The SDK may send the call again to another replica when the first is slow (a busy machine):
      // each attempt's coordinator makes a span under the client span. The one that completed the
      // write at W=3 has a replica write to each of the two other replicas under its own.
      const of = () => c.spans.filter((s) => s.traceId === traceId);
      const completed = await until(
        'a coordinator span of that trace with two replica writes under it',
        () =>
          of().find(
            (s) =>
              s.name === 'ringcache.coordinate set' &&
              of().filter((r) => r.name === 'ringcache.replicate' && r.parentSpanId === s.spanId).length >= 2,
          ),
        15_000,
        100,
      );
      expect(completed!.parentSpanId).to.equal(clientSpanId);
    } finally {
      await cache.close();
    }
  });
});
