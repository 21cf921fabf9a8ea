import { expect } from 'chai';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { RingCache } from '../../src/index';
import { TestCluster } from '../support/cluster';

describe('OpenTelemetry client spans (issue 14 §5)', function () {
  this.timeout(60_000);
  let t: TestCluster;
  const exporter = new InMemorySpanExporter();

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  after(async () => {
    trace.disable();
    await t?.stop();
  });

  it('records nothing while no OpenTelemetry SDK is registered', async () => {
    trace.disable();
    const cache = await RingCache.connect({ seeds: t.seeds });
    try {
      await cache.set('otel:none', 1);
      await cache.get('otel:none');
      expect(exporter.getFinishedSpans()).to.deep.equal([]);
    } finally {
      await cache.close();
    }
  });

  it('makes a client span per call, with the database semantic conventions and the error when one fails', async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
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
