import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { RingCacheError } from '../errors';
import type { ClusterConfig, NodeConfig, TlsConfig } from '../config/types';
import { readPem, type TlsOptions } from '../transport/tls';

/** A node's TLS files: the cluster's, with its own certificate and key (cluster.tls, nodes[].tls). */
export interface NodeTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientAuth: TlsConfig['clientAuth'];
}

export function nodeTlsFiles(config: ClusterConfig, self: NodeConfig): NodeTlsFiles | undefined {
  if (!config.tls) return undefined;
  const own = self.tls ?? { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
  return {
    caFile: config.tls.caFile,
    certFile: own.certFile.replaceAll('{id}', self.id),
    keyFile: own.keyFile.replaceAll('{id}', self.id),
    clientAuth: config.tls.clientAuth,
  };
}

/**
 * Server credentials whose certificates can be replaced while the server runs: grpc-js hands each
 * update to its listening servers (`setSecureContext`), so new handshakes use the new files and
 * connections already open keep theirs. No client certificate is asked for with client_auth none; with
 * require, a caller without one the CA signed is refused during the handshake; with optional, one is
 * asked for and not required, and whatever a caller presents counts only once `signedByCa` says so.
 */
class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(clientAuth: TlsConfig['clientAuth'], context: SecureContextOptions) {
    super({ requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'require' }, context);
  }

  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * A node's TLS: what its server presents and asks of callers, and what it presents to its peers
 * (the same certificate, as a client: mTLS between nodes). `reload()` reads the files again
 * (certificate rotation on SIGHUP, or when filesChanged() says so).
 */
export class NodeTls {
  readonly #files: NodeTlsFiles;
  readonly server: ReloadableServerCredentials;
  #client: TlsOptions;
  #cas: X509Certificate[] = [];
  #stamp: string;

  constructor(files: NodeTlsFiles) {
    this.#files = files;
    const { context, client } = this.#read();
    this.server = new ReloadableServerCredentials(files.clientAuth, context);
    this.#client = client;
    this.#cas = certificatesIn(context.ca as Buffer);
    this.#stamp = this.#filesStamp();
  }

  /**
   * Whether the files changed since the last call (a rotation: cert-manager renewing a mounted
   * Secret, a person copying new files). Each change is reported once, so files caught half-copied
   * (a new certificate, its key not yet) are tried again only when they change again.
   */
  filesChanged(): boolean {
    const stamp = this.#filesStamp();
    if (stamp === this.#stamp) return false;
    this.#stamp = stamp;
    return true;
  }

  /** The files' identities, sizes and times, through symlinks (a Kubernetes Secret mount swaps them). */
  #filesStamp(): string {
    return [this.#files.caFile, this.#files.certFile, this.#files.keyFile]
      .map((file) => {
        try {
          const s = statSync(file);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return 'absent';
        }
      })
      .join('|');
  }

  /**
   * Whether a certificate a caller presented (DER) was signed by one of the cluster's CAs and is
   * within its validity dates. With client_auth optional the handshake lets any certificate through,
   * so a certificate names a user or a node only after this check.
   */
  signedByCa(raw: Buffer): boolean {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(raw);
    } catch {
      return false;
    }
    const now = Date.now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return false;
    return this.#cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  }

  /** What this node presents to its peers and checks them against. */
  get client(): TlsOptions {
    return this.#client;
  }

  /** Reads the files again; throws (CONFIG_INVALID) and changes nothing when one cannot be read. */
  reload(): void {
    const { context, client } = this.#read();
    this.server.replace(context);
    this.#client = client;
    this.#cas = certificatesIn(context.ca as Buffer);
  }

  #read(): { context: SecureContextOptions; client: TlsOptions } {
    const ca = readPem(this.#files.caFile, 'CA certificate');
    const cert = readPem(this.#files.certFile, 'node certificate');
    const key = readPem(this.#files.keyFile, 'node private key');
    try {
      // Made once here to check the files (a key that is not the certificate's, a file that is no
      // PEM): a server given a context it cannot use would drop every connection.
      createSecureContext({ ca, cert, key });
    } catch (err) {
      throw new RingCacheError(
        'CONFIG_INVALID',
        `TLS files ${this.#files.certFile} and ${this.#files.keyFile} (CA ${this.#files.caFile}) cannot be used: ${(err as Error).message}`,
      );
    }
    return { context: { ca, cert, key }, client: { ca, cert, key } };
  }
}

/** Each certificate of a PEM bundle (a CA file may hold the old and the new CA during a rotation). */
function certificatesIn(pem: Buffer): X509Certificate[] {
  const blocks =
    pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
