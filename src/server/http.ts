import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger';

/**
 * The node's HTTP side: GET /metrics (Prometheus text format) and GET /healthz (200 while serving,
 * 503 while starting or draining), for scrapers and load balancers that do not speak gRPC.
 */
export async function startHttp(opts: {
  host: string;
  port: number;
  registry: Registry;
  serving(): boolean;
  logger: Logger;
}): Promise<http.Server> {
  const server = http.createServer((req, res) => {
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
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics or GET /healthz\n');
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
