import { isIPv4, isIPv6 } from 'node:net';
import { RingCacheError } from '../errors';
import type { NodeConfig } from '../config/types';
import { CLUSTER_TOKEN_ENV, CLUSTER_TOKEN_FILE_ENV } from '../transport/cluster-token';

/**
 * Whether `host` can only be reached from this machine: localhost, 127.0.0.0/8 or ::1. A host name
 * other than localhost counts as reachable from the network, whatever it resolves to today.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Protected mode, after Redis's: a node whose gRPC port can be reached from the network serves its
 * Peer service (replica writes, ring changes, a stream of every record) and the admin calls only to
 * holders of the cluster secret or, with mTLS, of a certificate the cluster's CA signed, so it
 * refuses to start with neither. On loopback only local processes reach it, and `ringcache up`
 * gives the nodes it starts a secret of their own anyway.
 */
export function checkProtected(self: NodeConfig, clusterToken: string | undefined, mutualTls = false): void {
  if (clusterToken || mutualTls) return;
  const bind = self.listen ?? { host: self.host, text: self.address };
  if (isLoopbackHost(bind.host)) return;
  throw new RingCacheError(
    'CONFIG_INVALID',
    `node ${self.id} listens on ${bind.text}, which the network can reach, and has no cluster secret: ` +
      `anyone reaching the port could replicate into it, reshape its ring or read every record. ` +
      `Give every node the same secret in ${CLUSTER_TOKEN_ENV} or ${CLUSTER_TOKEN_FILE_ENV} ` +
      `(e.g. openssl rand -hex 32), require client certificates (cluster.tls.client_auth: require), ` +
      `or listen on 127.0.0.1`,
  );
}
