import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyExplanation } from '../../cluster/explain';
import { RingCacheError } from '../../errors';
import { wallMsOf } from '../../store/hlc';
import type { DashboardFeed } from './feed';
import { DASHBOARD_HTML } from './page';
import { DASHBOARD_SCRIPT } from './script';

/** A refused dashboard request: the HTTP status and why, for the page to show. */
export interface HttpRefusal {
  status: 401 | 403;
  message: string;
}

export interface DashboardOptions {
  feed: DashboardFeed;
  explain(key: string, deadlineMs: number): Promise<KeyExplanation>;
  /**
   * Whether a request with this `authorization` header may see the cluster's data (members, hot
   * keys, key lookups): the node's `auth` rules, as for the Stats and Explain calls (role read).
   * Undefined when it may. Without `auth`, everyone may, as everyone may call Stats and Explain.
   */
  authorize(authorization: string | undefined): HttpRefusal | undefined;
}

/**
 * Headers on every dashboard answer: only this node's own scripts run in the page (no inline
 * script, nothing from elsewhere), and no other site may frame it.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** uPlot's files, from the package, read when first asked for. */
const assets = new Map<string, { type: string; body: Buffer | string }>();
function asset(path: string): { type: string; body: Buffer | string } | undefined {
  const files: Record<string, [string, string]> = {
    '/uplot.js': ['uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
    '/uplot.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
  };
  const file = files[path];
  if (!file) return undefined;
  let found = assets.get(path);
  if (!found) {
    found = { type: file[1], body: readFileSync(require.resolve(file[0])) };
    assets.set(path, found);
  }
  return found;
}

/**
 * The dashboard's routes on the node's HTTP server: the page and its scripts (no build step, nothing
 * from a CDN), `/events` (Server-Sent Events) and `/api/explain?key=`. Returns false for any other
 * request, for the caller to answer.
 */
export function dashboardHandler(
  opts: DashboardOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined) return false;
    let url: URL;
    try {
      url = new URL(req.url, 'http://node');
    } catch {
      return false;
    }
    const send = (status: number, type: string, body: Buffer | string): void => {
      res
        .writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store' })
        .end(body);
    };
    const json = (status: number, body: unknown): void =>
      send(status, 'application/json; charset=utf-8', JSON.stringify(body));
    switch (url.pathname) {
      case '/':
      case '/index.html':
        send(200, 'text/html; charset=utf-8', DASHBOARD_HTML);
        return true;
      case '/dashboard.js':
        send(200, 'text/javascript; charset=utf-8', DASHBOARD_SCRIPT);
        return true;
      case '/uplot.js':
      case '/uplot.css': {
        const a = asset(url.pathname);
        if (a) send(200, a.type, a.body);
        else json(404, { error: 'not found' });
        return true;
      }
      case '/events': {
        const refusal = opts.authorize(req.headers.authorization);
        if (refusal) json(refusal.status, { error: refusal.message });
        else if (opts.feed.full) json(503, { error: 'too many dashboards open on this node; close one' });
        else {
          for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
          opts.feed.open(res);
        }
        return true;
      }
      case '/api/explain': {
        const refusal = opts.authorize(req.headers.authorization);
        if (refusal) {
          json(refusal.status, { error: refusal.message });
          return true;
        }
        const key = url.searchParams.get('key');
        if (key === null || key === '') {
          json(400, { error: 'give the key to look up: /api/explain?key=<key>' });
          return true;
        }
        opts.explain(key, Date.now() + 3000).then(
          (e) => json(200, explanationJson(e)),
          (err: unknown) => {
            const invalid = err instanceof RingCacheError && err.code === 'INVALID_ARGUMENT';
            json(invalid ? 400 : 503, {
              error: err instanceof RingCacheError ? err.message : 'lookup failed',
            });
          },
        );
        return true;
      }
      default:
        return false;
    }
  };
}

function explanationJson(e: KeyExplanation): unknown {
  return {
    key: e.key,
    position: e.position,
    epoch: e.epoch,
    replicas: e.replicas.map((r) => ({
      id: r.id,
      address: r.address,
      state: r.state,
      holds: r.record !== undefined,
      tombstone: r.record?.tombstone ?? false,
      version: r.record
        ? {
            timestamp: r.record.version.timestamp,
            wallMs: wallMsOf(r.record.version.timestamp),
            node: r.record.version.node,
          }
        : null,
      expiresAtMs: r.record?.expiresAtMs ?? 0,
      valueBytes: r.record?.value.length ?? 0,
      error: r.error ?? null,
    })),
  };
}
