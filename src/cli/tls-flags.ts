import type { Command } from 'commander';
import { RingCacheError } from '../errors';
import { tlsFromFiles, type TlsOptions } from '../transport/tls';

interface TlsFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServername?: string;
}

/**
 * The options every command that calls a node takes for a cluster over TLS, also read from
 * RINGCACHE_TLS_CA, RINGCACHE_TLS_CERT, RINGCACHE_TLS_KEY (a flag wins over its variable).
 */
export function addTlsOptions(program: Command): Command {
  return program
    .option('--tls-ca <file>', "TLS: the CA certificate that signed the nodes' (PEM); env RINGCACHE_TLS_CA")
    .option(
      '--tls-cert <file>',
      'TLS: a client certificate, for nodes that require one; env RINGCACHE_TLS_CERT',
    )
    .option('--tls-key <file>', "TLS: the client certificate's key; env RINGCACHE_TLS_KEY")
    .option('--tls-servername <name>', "TLS: the name to check the node's certificate against");
}

/** TLS options from the flags or the environment; undefined (plaintext) when no CA is given. */
export function tlsOf(program: Command, env: NodeJS.ProcessEnv = process.env): TlsOptions | undefined {
  const o = program.opts<TlsFlags>();
  const ca = o.tlsCa ?? env.RINGCACHE_TLS_CA;
  const cert = o.tlsCert ?? env.RINGCACHE_TLS_CERT;
  const key = o.tlsKey ?? env.RINGCACHE_TLS_KEY;
  if (!ca) {
    if (cert || key)
      throw new RingCacheError('CONFIG_INVALID', 'a client certificate needs --tls-ca as well');
    return undefined;
  }
  return tlsFromFiles({ ca, cert: cert || undefined, key: key || undefined, servername: o.tlsServername });
}
