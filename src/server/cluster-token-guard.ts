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
  return typeof sent === 'string' && isClusterToken(sent, token);
}

/** Whether `sent` is the cluster's token, compared as hasClusterToken does. */
export function isClusterToken(sent: string, token: string): boolean {
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
type AnyHandler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * `handlers` with `refusal` asked before each of the named methods (every method when `methods` is
 * omitted) runs: a call it refuses is answered with its status (unary through the callback, streams
 * with an error status) and never reaches the handler. The one place calls are turned away before
 * their handler: the cluster token here, users and roles in access.ts.
 */
export function gateHandlers(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  refusal: (call: AnyCall, method: string) => { code: number; details: string } | undefined,
  methods?: readonly string[],
): grpc.UntypedServiceImplementation {
  const gated: grpc.UntypedServiceImplementation = { ...handlers };
  for (const name of methods ?? Object.keys(handlers)) {
    const handler = handlers[name] as AnyHandler | undefined;
    const method = definition[name];
    if (!handler || !method) continue;
    const unary = !method.requestStream && !method.responseStream;
    gated[name] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      const refused = refusal(call, name);
      if (!refused) return handler(call, callback);
      if (unary && callback) callback(refused);
      else (call as grpc.ServerDuplexStream<unknown, unknown>).emit('error', refused);
    }) as grpc.UntypedHandleCall;
  }
  return gated;
}

/**
 * `handlers` with the named methods (all of them when `methods` is omitted) refused with
 * UNAUTHENTICATED unless the call carries the cluster token. No token configured: handlers unchanged.
 */
export function requireClusterToken(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  token: string | undefined,
  methods?: readonly string[],
): grpc.UntypedServiceImplementation {
  if (!token) return handlers;
  const refused = { code: Code.UNAUTHENTICATED, details: REFUSED };
  return gateHandlers(
    definition,
    handlers,
    (call) => (hasClusterToken(call.metadata, token) ? undefined : refused),
    methods,
  );
}
