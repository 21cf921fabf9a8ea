import * as grpc from '@grpc/grpc-js';
import { METADATA } from '../proto/messages';

/** Environment variable holding the cluster token, read by nodes and by the membership commands. */
export const CLUSTER_TOKEN_ENV = 'RINGCACHE_CLUSTER_TOKEN';

/**
 * Client options that send the cluster token with every call of a channel (node-to-node calls and
 * membership changes); no token, no change. An interceptor, because grpc-js refuses call credentials
 * on an insecure channel.
 */
export function withClusterToken(options: grpc.ClientOptions, token: string | undefined): grpc.ClientOptions {
  if (!token) return options;
  const interceptor: grpc.Interceptor = (opts, next) =>
    new grpc.InterceptingCall(next(opts), {
      start(metadata, listener, start) {
        metadata.set(METADATA.clusterToken, token);
        start(metadata, listener);
      },
    });
  return { ...options, interceptors: [...(options.interceptors ?? []), interceptor] };
}
