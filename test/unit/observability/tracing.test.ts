import { expect } from 'chai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { NODE_TRACING_PACKAGES, nodeTracerFromEnv } from '../../../src/observability/tracing';
import { silentLogger } from '../../../src/observability/logger';

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLogger(lines: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

describe('a node tracing with OpenTelemetry as an optional peer dependency', () => {
  it('loads nothing of OpenTelemetry when no endpoint is set', () => {
    const loaded: string[] = [];
    const tracer = nodeTracerFromEnv({}, 'n1', silentLogger(), (name) => {
      loaded.push(name);
      return {};
    });
    expect(tracer).to.equal(undefined);
    expect(loaded).to.deep.equal([]);
  });

  it('serves untraced, naming what to install, when an endpoint is set and the exporter is missing', async () => {
    const lines: Record<string, unknown>[] = [];
    const tracer = nodeTracerFromEnv(ENDPOINT, 'n1', capturingLogger(lines), (name) => {
      if (name === '@opentelemetry/exporter-trace-otlp-http')
        throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
      return require(name) as unknown; // eslint-disable-line @typescript-eslint/no-require-imports
    });
    expect(tracer).to.equal(undefined);
    await new Promise((r) => setImmediate(r));
    const line = lines.find((l) => String(l.msg).startsWith('tracing:'));
    expect(line, JSON.stringify(lines)).to.not.equal(undefined);
    expect(line!.level, 'warn').to.equal(40);
    expect(line!.missing).to.deep.equal(['@opentelemetry/exporter-trace-otlp-http']);
    expect(String(line!.msg)).to.include(`npm install ${NODE_TRACING_PACKAGES.join(' ')}`);
  });

  it('throws when a package is there but fails to load (a bug, not a choice)', () => {
    expect(() =>
      nodeTracerFromEnv(ENDPOINT, 'n1', silentLogger(), () => {
        throw new SyntaxError('Unexpected token');
      }),
    ).to.throw(SyntaxError);
  });

  it('traces when every package is installed (as in this repository, where they are dev dependencies)', async () => {
    const tracer = nodeTracerFromEnv(ENDPOINT, 'n1', silentLogger());
    expect(tracer).to.not.equal(undefined);
    await tracer!.shutdown();
    // The tracer set itself as the process's global provider and context manager: undone, so that
    // later suites in this process see no OpenTelemetry at all.
    const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api'); // eslint-disable-line @typescript-eslint/no-require-imports
    api.trace.disable();
    api.context.disable();
  });
});
