import type * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Code, METADATA } from '../proto/messages';
import { CLUSTER_TOKEN_ENV } from '../transport/cluster-token';

const REFUSED =
  'this cluster requires its cluster token on node-to-node and membership calls: ' +
  `set ${CLUSTER_TOKEN_ENV} to the value the nodes were started with`;

const digestOf = (text: string): Buffer => createHash('sha256').update(text).digest();
/** The digest of each token a node was given, made once: the token itself is not compared. */
const digests = new Map<string, Buffer>();

/**
 * Whether a call carries the cluster's token (always true when the cluster has none). The SHA-256
 * digests are compared, in constant time: neither the answer's timing nor a length check says how
 * much of a guess was right, or how long the token is.
 */
export function hasClusterToken(metadata: grpc.Metadata, token: string | undefined): boolean {
  if (!token) return true;
  const sent = metadata.get(METADATA.clusterToken)[0];
  if (typeof sent !== 'string') return false;
  let expected = digests.get(token);
  if (!expected) digests.set(token, (expected = digestOf(token)));
  return timingSafeEqual(digestOf(sent), expected);
}

/**
 * Whether a node forwarded this call (serve it here, never forward again). With a cluster token, only
 * a call carrying it may say so: anyone else's is routed as usual.
 */
export function isForwarded(metadata: grpc.Metadata, token: string | undefined): boolean {
  return metadata.get(METADATA.forwardedBy).length > 0 && hasClusterToken(metadata, token);
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * `handlers` with the named methods (all of them when `methods` is omitted) refused with
 * UNAUTHENTICATED unless the call carries the cluster token. No token configured: handlers unchanged.
 * The service definition tells unary methods (answered through their callback) from streaming ones
 * (ended with an error status).
 */
export function requireClusterToken(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  token: string | undefined,
  methods?: readonly string[],
): grpc.UntypedServiceImplementation {
  if (!token) return handlers;
  const guarded: grpc.UntypedServiceImplementation = { ...handlers };
  for (const name of methods ?? Object.keys(handlers)) {
    const handler = handlers[name] as
      ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void) | undefined;
    const method = definition[name];
    if (!handler || !method) continue;
    const unary = !method.requestStream && !method.responseStream;
    guarded[name] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      if (hasClusterToken(call.metadata, token)) return handler(call, callback);
      const status = { code: Code.UNAUTHENTICATED, details: REFUSED };
      if (unary && callback) callback(status);
      else (call as grpc.ServerDuplexStream<unknown, unknown>).emit('error', status);
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}
