import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { RingCacheError } from '../errors';

/**
 * How a client (the SDK, the CLI, a node calling its peers) speaks TLS to the nodes. PEM text or
 * bytes, as read from the files; `ringcache certs` makes a set to try it with.
 */
export interface TlsOptions {
  /** The CA that signed the nodes' certificates: a node whose certificate it did not sign is refused. */
  ca: string | Buffer;
  /** A client certificate and its key, for nodes that require one (client_auth: require). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * The name to check the node's certificate against, when it is not the host dialled (a node
   * reached through an IP address its certificate does not list).
   */
  servername?: string;
}

/** TLS options from PEM files: each path read now; an unreadable one is a config error naming it. */
export function tlsFromFiles(files: {
  ca: string;
  cert?: string;
  key?: string;
  servername?: string;
}): TlsOptions {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new RingCacheError(
      'CONFIG_INVALID',
      'a client certificate needs its key, and a key its certificate',
    );
  }
  const tls: TlsOptions = { ca: readPem(files.ca, 'CA certificate') };
  if (files.cert !== undefined) tls.cert = readPem(files.cert, 'certificate');
  if (files.key !== undefined) tls.key = readPem(files.key, 'private key');
  if (files.servername) tls.servername = files.servername;
  return tls;
}

export function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RingCacheError('CONFIG_INVALID', `${what} ${file} cannot be read (${why})`);
  }
}

const asBuffer = (pem: string | Buffer): Buffer => (typeof pem === 'string' ? Buffer.from(pem) : pem);

/** Channel credentials, made once per TlsOptions object and shared by every channel that uses it. */
const made = new WeakMap<TlsOptions, grpc.ChannelCredentials>();

/** The credentials of a channel to a node: TLS checked against `tls.ca`, or plaintext without `tls`. */
export function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  let creds = made.get(tls);
  if (!creds) {
    creds = grpc.credentials.createSsl(
      asBuffer(tls.ca),
      tls.key === undefined ? null : asBuffer(tls.key),
      tls.cert === undefined ? null : asBuffer(tls.cert),
    );
    made.set(tls, creds);
  }
  return creds;
}

/** `options` plus what TLS needs of a channel (the name to check the node's certificate against). */
export function withTls(options: grpc.ClientOptions, tls: TlsOptions | undefined): grpc.ClientOptions {
  if (!tls?.servername) return options;
  return {
    ...options,
    'grpc.ssl_target_name_override': tls.servername,
    'grpc.default_authority': tls.servername,
  };
}
