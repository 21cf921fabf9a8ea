import type * as Otel from '@opentelemetry/api';
import type { Logger } from './logger';

/**
 * A node's spans, on only when the standard OpenTelemetry exporter variables name a
 * collector (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTLP over HTTP):
 * otherwise nothing of OpenTelemetry is loaded and the data path checks one undefined.
 *
 * - serve(): a SERVER span for each operation an SDK call carried a W3C traceparent for (in the
 *   packed frame, as calls share stream frames), a child of the client's span: the coordination.
 * - peerCall(): a CLIENT span for each call to a peer made inside one (replica writes, reads,
 *   forwards): the replication. Async context (AsyncLocalStorage) carries the parent across awaits.
 */
export interface NodeTracer {
  serve<T>(traceparent: string, name: string, run: () => T | Promise<T>): T | Promise<T>;
  peerCall<T>(name: string, peer: string, run: () => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The OpenTelemetry packages a node's tracing needs: optional peer dependencies, so that an
 * application that installs ringcache for its SDK does not carry the exporter (27 MB installed).
 */
export const NODE_TRACING_PACKAGES = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/context-async-hooks',
] as const;

/**
 * The node's tracer, or undefined when the environment names no collector, or names one while the
 * packages above are not installed: then the node serves untraced and says once, at start, what to
 * install (a cache that will not start for want of its traces helps nobody).
 */
export function nodeTracerFromEnv(
  env: NodeJS.ProcessEnv,
  nodeId: string,
  logger: Logger,
  load: (name: string) => unknown = require,
): NodeTracer | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const missing = NODE_TRACING_PACKAGES.filter((name) => {
    try {
      load(name);
      return false;
    } catch (err) {
      // Only "not installed" is an operator's choice; a package that fails to load is a bug to see.
      if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return true;
      throw err;
    }
  });
  if (missing.length > 0) {
    logger.warn(
      { missing },
      `tracing: an OTLP endpoint is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed; ` +
        `serving without traces (install them beside ringcache: npm install ${NODE_TRACING_PACKAGES.join(' ')})`,
    );
    return undefined;
  }
  const api = load('@opentelemetry/api') as typeof Otel;
  const { BasicTracerProvider, BatchSpanProcessor } = load(
    '@opentelemetry/sdk-trace-base',
  ) as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = load(
    '@opentelemetry/exporter-trace-otlp-http',
  ) as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { AsyncLocalStorageContextManager } = load(
    '@opentelemetry/context-async-hooks',
  ) as typeof import('@opentelemetry/context-async-hooks');
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 500 })],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer('ringcache-node');
  logger.info('tracing: spans go to the OTLP endpoint of the environment');
  const base = { 'db.system.name': 'ringcache', 'ringcache.node': nodeId };

  const ended = (span: Otel.Span, failed: unknown): void => {
    if (failed !== undefined) {
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        message: String((failed as Error).message ?? failed),
      });
    }
    span.end();
  };

  return {
    serve(traceparent, name, run) {
      const m = TRACEPARENT.exec(traceparent);
      if (!m) return run();
      const parent = api.trace.setSpanContext(api.context.active(), {
        traceId: m[1]!,
        spanId: m[2]!,
        traceFlags: parseInt(m[3]!, 16),
        isRemote: true,
      });
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes: base }, parent);
      return api.context.with(api.trace.setSpan(parent, span), () => {
        let out: ReturnType<typeof run>;
        try {
          out = run();
        } catch (err) {
          ended(span, err);
          throw err;
        }
        if (out instanceof Promise) {
          return out.then(
            (v) => (ended(span, undefined), v),
            (err: unknown) => {
              ended(span, err);
              throw err;
            },
          );
        }
        ended(span, undefined);
        return out;
      });
    },
    peerCall(name, peer, run) {
      if (!api.trace.getActiveSpan()?.isRecording()) return run();
      const span = tracer.startSpan(name, {
        kind: api.SpanKind.CLIENT,
        attributes: { ...base, 'ringcache.peer': peer },
      });
      return api.context.with(api.trace.setSpan(api.context.active(), span), run).then(
        (v) => (ended(span, undefined), v),
        (err: unknown) => {
          ended(span, err);
          throw err;
        },
      );
    },
    shutdown: () => provider.shutdown(),
  };
}
