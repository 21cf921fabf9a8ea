import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { RingCacheError } from '../errors';
import { METADATA } from '../proto/messages';

/** Environment variable holding the cluster token, read by nodes and by the membership commands. */
export const CLUSTER_TOKEN_ENV = 'RINGCACHE_CLUSTER_TOKEN';
/** Environment variable naming a file that holds the cluster token (a mounted Kubernetes Secret). */
export const CLUSTER_TOKEN_FILE_ENV = 'RINGCACHE_CLUSTER_TOKEN_FILE';

/**
 * The cluster token from the environment: the file RINGCACHE_CLUSTER_TOKEN_FILE names (its trailing
 * line break dropped), else RINGCACHE_CLUSTER_TOKEN; undefined when neither is set (empty counts as
 * unset). Both set is refused: which one the nodes hold would be a guess.
 */
export function clusterTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return secretFromEnv(env, CLUSTER_TOKEN_ENV, CLUSTER_TOKEN_FILE_ENV);
}

/** A secret from the file `fileVar` names, else from `inlineVar` (see clusterTokenFromEnv). */
export function secretFromEnv(
  env: NodeJS.ProcessEnv,
  inlineVar: string,
  fileVar: string,
): string | undefined {
  const file = env[fileVar];
  const inline = env[inlineVar];
  if (file && inline)
    throw new RingCacheError('CONFIG_INVALID', `both ${fileVar} and ${inlineVar} are set; set one of them`);
  return file ? readSecretFile(file, `${fileVar} names ${file}, which`) : inline || undefined;
}

/**
 * A secret kept in a file (a mounted Kubernetes Secret), its trailing line break dropped. `which`
 * starts the error message: "<which> cannot be read (ENOENT)", "<which> is empty".
 */
export function readSecretFile(file: string, which: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RingCacheError('CONFIG_INVALID', `${which} cannot be read (${why})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new RingCacheError('CONFIG_INVALID', `${which} is empty`);
  return secret;
}

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
