import * as grpc from '@grpc/grpc-js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeCore } from '../../cluster/node-core';
import type { HotKeys } from '../../observability/hot-keys';
import type { RequestMetrics } from '../../observability/request-metrics';
import type { AccessControl } from '../access';
import { Code } from '../../proto/messages';
import { DashboardFeed } from './feed';
import type { PeerStats } from './member-figures';
import { dashboardHandler, type HttpRefusal } from './routes';

/**
 * A node's dashboard, wired to its core: the feed and the HTTP routes. `access` is the node's
 * AccessControl when cluster.yml has `auth`: the dashboard's data then needs a user token with role
 * read or above (as Stats and Explain do), sent as `authorization: Bearer <token>`; the page asks for
 * it. Client certificates do not apply: the HTTP server is plain HTTP. So without `auth`, a node
 * whose gRPC port takes only clients with a certificate (`closedWithoutAuth`) keeps the dashboard's
 * data closed too (403), unless its http address is a loopback one: showing keys and lookups over
 * plain HTTP to whoever cannot call the gRPC port would undo what the certificates protect.
 */
export function nodeDashboard(opts: {
  selfId: string;
  core: NodeCore;
  hotKeys: HotKeys;
  requests: () => RequestMetrics | undefined;
  access: AccessControl | undefined;
  /** Without `auth`: a refusal for every data request, when the data must stay closed. */
  closedWithoutAuth?: HttpRefusal;
  /** Another member's Cluster.Stats, asked as this node: the members table's figures. */
  peerStats?: (id: string, deadlineMs: number) => Promise<PeerStats>;
}): { feed: DashboardFeed; handler: (req: IncomingMessage, res: ServerResponse) => boolean } {
  const { core } = opts;
  const feed = new DashboardFeed({
    selfId: opts.selfId,
    topology: () => core.topology.snapshot(),
    ring: () => core.topology.ring,
    onTopologyChange: (listener) => core.topology.onChange(listener),
    stats: () => {
      const s = core.store.stats();
      return {
        hits: s.hits,
        misses: s.misses,
        keys: s.keys,
        bytes: s.bytes,
        maxBytes: s.maxBytes,
        hintsPending: core.hints.count,
      };
    },
    requests: () => opts.requests()?.totals() ?? { count: 0, buckets: [] },
    hotKeys: () => opts.hotKeys.snapshot(),
    ...(opts.peerStats && { peerStats: opts.peerStats }),
  });
  const handler = dashboardHandler({
    feed,
    explain: (key, deadlineMs) => core.explain(key, deadlineMs),
    authorize: (authorization) =>
      opts.access ? authorize(opts.access, authorization) : opts.closedWithoutAuth,
  });
  return { feed, handler };
}

function authorize(access: AccessControl, authorization: string | undefined): HttpRefusal | undefined {
  const metadata = new grpc.Metadata();
  try {
    if (authorization !== undefined) metadata.set('authorization', authorization);
  } catch {
    // A value gRPC metadata refuses (characters no token has) is no credential.
    return { status: 401, message: 'the authorization header is not "Bearer <token>"' };
  }
  const refusal = access.refusal(access.callerOf({ metadata }), 'the dashboard', {
    role: 'read',
    node: false,
  });
  if (!refusal) return undefined;
  return { status: refusal.code === Code.UNAUTHENTICATED ? 401 : 403, message: refusal.details };
}
