import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger';

/**
 * The node's HTTP side, for scrapers, probes and load balancers that do not speak gRPC: GET /metrics
 * (Prometheus text format), GET /healthz (readiness: 200 while serving, 503 while starting, catching
 * up or draining) and GET /livez (liveness: 200 whenever the process can answer at all). A liveness
 * probe must be /livez: a node catching up a few GiB from its peers is not serving for minutes, and
 * restarting it for that would start its catch-up over, again and again. With `dashboard`, the
 * dashboard's page and data are served too (GET /, /events and /api/explain; dashboard/routes.ts).
 */
export async function startHttp(opts: {
  host: string;
  port: number;
  registry: Registry;
  serving(): boolean;
  logger: Logger;
  dashboard?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (opts.dashboard?.(req, res)) return;
    if (req.method === 'GET' && req.url === '/metrics') {
      opts.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          opts.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end('metrics collection failed\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      const ok = opts.serving();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (req.method === 'GET' && req.url === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ALIVE\n');
      return;
    }
    res
      .writeHead(404, { 'content-type': 'text/plain' })
      .end(
        `not found: try GET /metrics, GET /healthz or GET /livez${opts.dashboard ? ', or open / in a browser' : ''}\n`,
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
