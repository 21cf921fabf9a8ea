import type * as OtelApi from '@opentelemetry/api';

/** Loaded once: the app's @opentelemetry/api, or null when it has none (then tracing costs nothing). */
let api: typeof OtelApi | null | undefined;

function otel(): typeof OtelApi | null {
  if (api === undefined) {
    try {
      // An optional peer dependency: the application's own copy, so spans join its traces.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      api = require('@opentelemetry/api') as typeof OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/** The op codes of packed frames, as the database semantic conventions' db.operation.name. */
const OPERATION = ['get', 'set', 'delete', 'touch', 'incr', 'cas'];

/**
 * Client spans for SDK calls, following OpenTelemetry's semantic conventions for
 * database clients: span name and db.operation.name the operation, db.system.name "ringcache",
 * server.address and server.port of the node the key goes to, error.type and an error status when
 * the call fails. Without @opentelemetry/api installed nothing is loaded; with it but no SDK
 * registered (active() answers undefined) the call runs as if untraced, without a span.
 */
export class CallTracer {
  readonly #version: string;
  readonly #loaded: boolean;
  #provider: OtelApi.TracerProvider | undefined;
  #tracer: OtelApi.Tracer | undefined;

  constructor(version: string) {
    this.#version = version;
    this.#loaded = otel() !== null;
  }

  /**
   * The tracer of the application's registered SDK, or undefined when there is none (or no
   * @opentelemetry/api at all): then the call is made as it is, without a span, a closure or a
   * context switch. Asked on every call, as an application may register its SDK after connecting;
   * it costs a global lookup and a comparison.
   */
  active(): OtelApi.Tracer | undefined {
    if (!this.#loaded) return undefined;
    const provider = api!.trace.getTracerProvider();
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = undefined;
    }
    // The global provider is a proxy; without an SDK behind it there is nothing to record.
    this.#tracer ??= (provider as OtelApi.ProxyTracerProvider).getDelegateTracer?.(
      'ringcache',
      this.#version,
    );
    return this.#tracer;
  }

  /** `call` inside a client span of `op` (a packed op code); `node` names where the key goes. */
  /** `call` gets the span's W3C traceparent for the nodes, or undefined when nothing records. */
  run<T>(
    tracer: OtelApi.Tracer,
    op: number,
    node: () => string | undefined,
    call: (traceparent?: string) => Promise<T>,
  ): Promise<T> {
    const a = api!;
    const name = OPERATION[op] ?? 'call';
    const span = tracer.startSpan(name, { kind: a.SpanKind.CLIENT });
    if (!span.isRecording()) {
      span.end();
      return call();
    }
    const address = node();
    const colon = address?.lastIndexOf(':') ?? -1;
    span.setAttributes({
      'db.system.name': 'ringcache',
      'db.operation.name': name,
      ...(address && colon > 0
        ? { 'server.address': address.slice(0, colon), 'server.port': Number(address.slice(colon + 1)) }
        : {}),
    });
    const sc = span.spanContext();
    const traceparent = `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
    return a.context
      .with(a.trace.setSpan(a.context.active(), span), () => call(traceparent))
      .then(
        (result) => {
          span.end();
          return result;
        },
        (err: unknown) => {
          const code = (err as { code?: unknown }).code;
          span.setAttribute('error.type', typeof code === 'string' ? code : 'Error');
          span.setStatus({
            code: a.SpanStatusCode.ERROR,
            message: err instanceof Error ? err.message : String(err),
          });
          span.end();
          throw err;
        },
      );
  }
}
