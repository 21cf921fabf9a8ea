import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { AccessRole, AuthConfig } from '../config/types';
import { Code, METADATA } from '../proto/messages';
import { CLUSTER_TOKEN_ENV, readSecretFile } from '../transport/cluster-token';
import { USER_TOKEN_ENV } from '../transport/user-token';
import { gateHandlers, hasClusterToken } from './cluster-token-guard';

/**
 * Who may call what (cluster.yml `auth`). A call's caller is one of:
 * - a node of this cluster: it carries the cluster token (or, in a cluster with mutual TLS and no
 *   token, a certificate from the cluster's CA that no user is mapped to);
 * - a user: a bearer token (`authorization: Bearer <token>`) whose SHA-256 is a user's
 *   `token_sha256` (or the digest of its `token_file`), or a client certificate whose common name or
 *   DNS name is a user's `cert`;
 * - nobody known.
 *
 * Roles nest: `read` may Get, GetMany, Watch, Scan and the Cluster service's Topology, WatchTopology,
 * Stats and Explain; `write` adds every write (Set, Delete, Touch, Increment, CompareAndSet, SetMany,
 * and writes inside Pipeline frames); `admin` adds Flush, Join and Leave. No user may call the Peer
 * service. A node may call the Peer service, Join, and the Cache service (to forward a caller's
 * call to the key's coordinator, after the node it reached checked the caller), but not Flush or
 * Leave: a node's identity does not act for a client.
 *
 * With no `auth` section, the Cache service and the Cluster service's reads stay open to anyone who
 * reaches the port (memcached's model), and Join, Leave and Flush need the cluster token.
 */
export type Caller =
  { kind: 'node' } | { kind: 'user'; name: string; role: AccessRole } | { kind: 'unknown'; why: string };

/** What a method needs: a role (a node passes where `node` says so), or only nodes. */
export interface Requirement {
  role: AccessRole | 'node-only';
  /** Whether a node of the cluster may call it too. */
  node: boolean;
}

const RANK: Record<AccessRole, number> = { read: 0, write: 1, admin: 2 };

const read: Requirement = { role: 'read', node: true };
const write: Requirement = { role: 'write', node: true };
/**
 * Every method of the client-facing services and what it needs. Pipeline streams are opened with
 * `read`: each write inside a frame is checked against the caller's role on its own (mayWrite).
 */
export const REQUIREMENTS: Record<string, Record<string, Requirement>> = {
  Cache: {
    Get: read,
    GetMany: read,
    Watch: read,
    Scan: read,
    Pipeline: read,
    PipelinePacked: read,
    Set: write,
    Delete: write,
    Touch: write,
    Increment: write,
    CompareAndSet: write,
    SetMany: write,
  },
  Cluster: {
    Topology: read,
    WatchTopology: read,
    Stats: read,
    Explain: read,
    Join: { role: 'admin', node: true },
    Leave: { role: 'admin', node: false },
    Flush: { role: 'admin', node: false },
  },
};

const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/;
const digestHex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Callers found for the calls being served, for checks made later in a call (Pipeline frames). */
const callers = new WeakMap<object, Caller>();

/**
 * A node's access rules, made once from the config. Token digests are looked up in a map: what is
 * compared is the SHA-256 of what the caller sent, which a caller cannot steer byte by byte, so the
 * lookup's timing says nothing about any user's token.
 */
export class AccessControl {
  readonly #byDigest = new Map<string, { name: string; role: AccessRole }>();
  readonly #byCert = new Map<string, { name: string; role: AccessRole }>();
  readonly #clusterToken: string | undefined;
  /** Mutual TLS with no cluster token: a CA-signed certificate no user is mapped to is a node's. */
  readonly #nodesByCertificate: boolean;

  readonly #signedByCa: ((raw: Buffer) => boolean) | undefined;

  /**
   * `mutualTls`: client_auth require (every caller's certificate was checked in the handshake).
   * `signedByCa`: with client_auth optional, the check a presented certificate must pass to count.
   */
  constructor(
    auth: AuthConfig,
    clusterToken: string | undefined,
    tls: { mutualTls: boolean; signedByCa?: (raw: Buffer) => boolean },
  ) {
    this.#clusterToken = clusterToken;
    this.#nodesByCertificate = !clusterToken && tls.mutualTls;
    this.#signedByCa = tls.signedByCa;
    for (const user of auth.users) {
      const entry = { name: user.name, role: user.role };
      if (user.tokenSha256) this.#byDigest.set(user.tokenSha256.toLowerCase(), entry);
      if (user.tokenFile)
        this.#byDigest.set(
          digestHex(readSecretFile(user.tokenFile, `auth user ${user.name}: token_file ${user.tokenFile}`)),
          entry,
        );
      if (user.cert) this.#byCert.set(user.cert, entry);
    }
  }

  /** Who made a call (see Caller). */
  callerOf(call: {
    metadata: grpc.Metadata;
    getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } | null;
  }): Caller {
    const sent = call.metadata.get('authorization')[0];
    if (sent !== undefined) {
      const bearer = typeof sent === 'string' ? BEARER.exec(sent) : null;
      if (!bearer) return { kind: 'unknown', why: 'its authorization header is not "Bearer <token>"' };
      const user = this.#byDigest.get(digestHex(bearer[1]!));
      return user ? { kind: 'user', ...user } : { kind: 'unknown', why: 'its token is not a known user’s' };
    }
    if (this.#clusterToken && call.metadata.get(METADATA.clusterToken).length > 0) {
      return hasClusterToken(call.metadata, this.#clusterToken)
        ? { kind: 'node' }
        : { kind: 'unknown', why: 'its cluster token is wrong' };
    }
    const certificate = call.getAuthContext?.()?.sslPeerCertificate;
    if (certificate?.raw && (!this.#signedByCa || this.#signedByCa(certificate.raw))) {
      for (const name of certificateNames(certificate)) {
        const user = this.#byCert.get(name);
        if (user) return { kind: 'user', ...user };
      }
      if (this.#nodesByCertificate) return { kind: 'node' };
    }
    return { kind: 'unknown', why: 'it carries no credential' };
  }

  /** Why `caller` may not call `method` (a gRPC status), or undefined when it may. */
  refusal(caller: Caller, method: string, needs: Requirement): Refusal | undefined {
    if (caller.kind === 'node') {
      if (needs.node) return undefined;
      return denied(`${method} needs a user with role admin; a node's identity cannot call it`);
    }
    if (caller.kind === 'unknown') {
      const needed =
        needs.role === 'node-only'
          ? `is for the cluster's nodes and ${caller.why}: set ${CLUSTER_TOKEN_ENV} to the value the nodes were started with`
          : `needs a user's credential and ${caller.why}: send "authorization: Bearer <token>" ` +
            `(${USER_TOKEN_ENV} for the SDK and CLI) or a client certificate mapped to a user`;
      return { code: Code.UNAUTHENTICATED, details: `${method} ${needed}` };
    }
    if (needs.role === 'node-only')
      return denied(`${method} is for the cluster's nodes; no user may call it (user ${caller.name})`);
    if (RANK[caller.role] >= RANK[needs.role]) return undefined;
    return denied(`${method} needs role ${needs.role}; user ${caller.name} has role ${caller.role}`);
  }
}

/** A refused call's status. */
export interface Refusal {
  code: number;
  details: string;
}

function denied(details: string): Refusal {
  return { code: Code.PERMISSION_DENIED, details };
}

/** A certificate's common name and DNS names, which a user's `cert` may name. */
function certificateNames(certificate: PeerCertificate): string[] {
  const names: string[] = [];
  const cn = certificate.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of (certificate.subjectaltname ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) names.push(part.slice(4));
  }
  return names;
}

/**
 * `handlers` with each method's requirement checked before it runs: refused calls are answered
 * UNAUTHENTICATED or PERMISSION_DENIED and never reach the handler. Methods without a requirement
 * are left as they are.
 */
export function withAccessChecks(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  access: AccessControl,
  requirements: Record<string, Requirement>,
): grpc.UntypedServiceImplementation {
  const checked = Object.keys(handlers).filter((name) => requirements[name]);
  return gateHandlers(
    definition,
    handlers,
    (call, method) => {
      const caller = access.callerOf(call);
      const refused = access.refusal(caller, method, requirements[method]!);
      if (!refused) callers.set(call, caller);
      return refused;
    },
    checked,
  );
}

/**
 * Why a call may not write (a Pipeline op that is not a read, from a `read` user): undefined when
 * it may, or when access is not checked on this node.
 */
export function writeRefusal(call: object): { code: number; message: string } | undefined {
  const caller = callers.get(call);
  if (caller?.kind !== 'user' || RANK[caller.role] >= RANK.write) return undefined;
  return {
    code: Code.PERMISSION_DENIED,
    message: `writes need role write; user ${caller.name} has role ${caller.role}`,
  };
}

/** The Peer service needs a node: REQUIREMENTS' shape for each of its methods. */
export function nodeOnly(definition: grpc.ServiceDefinition): Record<string, Requirement> {
  return Object.fromEntries(Object.keys(definition).map((m) => [m, { role: 'node-only', node: true }]));
}
