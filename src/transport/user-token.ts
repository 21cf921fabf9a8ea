import * as grpc from '@grpc/grpc-js';
import { secretFromEnv } from './cluster-token';

/** Environment variable holding a user's token (cluster.yml `auth.users`), read by the SDK and CLI. */
export const USER_TOKEN_ENV = 'RINGCACHE_TOKEN';
/** Environment variable naming a file that holds a user's token. */
export const USER_TOKEN_FILE_ENV = 'RINGCACHE_TOKEN_FILE';

/** The user token from RINGCACHE_TOKEN_FILE's file or RINGCACHE_TOKEN; undefined when neither is set. */
export function userTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return secretFromEnv(env, USER_TOKEN_ENV, USER_TOKEN_FILE_ENV);
}

/**
 * Client options that send a user's token with every call of a channel, as `authorization: Bearer`
 * (what grpcurl and `buf curl` send with `-H`); no token, no change. An interceptor rather than call
 * credentials, which grpc-js refuses on a plaintext channel (a cluster on a private network).
 */
export function withUserToken(options: grpc.ClientOptions, token: string | undefined): grpc.ClientOptions {
  if (!token) return options;
  const header = `Bearer ${token}`;
  const interceptor: grpc.Interceptor = (opts, next) =>
    new grpc.InterceptingCall(next(opts), {
      start(metadata, listener, start) {
        metadata.set('authorization', header);
        start(metadata, listener);
      },
    });
  return { ...options, interceptors: [...(options.interceptors ?? []), interceptor] };
}
