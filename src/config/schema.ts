import type { Node } from 'yaml';
import {
  DEFAULT_GOSSIP,
  DEFAULT_ANTI_ENTROPY,
  DEFAULT_HINTS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_CLOCK_OFFSET_MS,
  DEFAULT_NAME,
  DEFAULT_TOMBSTONE_GRACE_MS,
  DEFAULT_VNODES,
  defaultMaxClientOutputBytes,
  defaultMaxClientInputBytes,
  defaultMaxReplyBytes,
  defaultMaxRequestBytes,
  defaultMaxClientCalls,
  defaultMaxTombstoneBytes,
  defaultReplication,
} from './defaults';
import type { AuthConfig, AuthUser, ClusterConfig, LimitsConfig, NodeConfig, TlsConfig } from './types';
import type { YamlReader } from './yaml-reader';

/**
 * The shape of cluster.yml: which fields exist where and what type each has. Reading reports wrong
 * types and unknown fields; ranges and relations between fields are validate.ts's job, so that
 * generated configs get the same checks.
 */
const TOP = ['cluster', 'limits', 'nodes', 'auth'] as const;
const CLUSTER = [
  'name',
  'vnodes',
  'replication',
  'gossip',
  'hints',
  'tombstone_grace_ms',
  'max_clock_offset_ms',
  'anti_entropy',
  'tls',
  'reflection',
] as const;
const TLS = ['ca', 'cert', 'key', 'client_auth'] as const;
const NODE_TLS = ['cert', 'key'] as const;
const AUTH = ['users'] as const;
const USER = ['name', 'role', 'token_sha256', 'token_file', 'cert'] as const;
const ANTI_ENTROPY = ['interval_ms', 'keys_per_second', 'bytes_per_second'] as const;
const REPLICATION = ['factor', 'write_quorum', 'read_quorum', 'sloppy'] as const;
const GOSSIP = ['probe_interval_ms', 'probe_timeout_ms', 'indirect_probes', 'suspicion_timeout_ms'] as const;
const HINTS = ['max_count', 'max_bytes', 'max_age_ms'] as const;
const LIMITS = [
  'max_key_bytes',
  'max_value_bytes',
  'max_memory',
  'max_reply_bytes',
  'max_batch_keys',
  'max_output_buffer_bytes',
  'max_watchers',
  'max_frames_in_flight',
  'max_connections',
  'max_streams_per_connection',
  'max_client_calls',
  'idle_timeout_ms',
  'max_tombstone_bytes',
  'max_client_output_bytes',
  'max_client_input_bytes',
  'max_request_bytes',
] as const;
const NODE = ['id', 'address', 'http', 'listen', 'http_listen', 'tls'] as const;

/** Reads the document root into a config with defaults applied; undefined pieces were reported. */
export function readConfig(r: YamlReader, root: Node | undefined, source: string): ClusterConfig {
  const top = r.fields(root, '', TOP) ?? new Map<string, Node | undefined>();
  const cluster = r.fields(top.get('cluster'), 'cluster', CLUSTER) ?? new Map<string, Node | undefined>();
  const nodes = readNodes(r, top.get('nodes'), r.lineOf(root) ?? 1);
  const replication = r.fields(cluster.get('replication'), 'cluster.replication', REPLICATION);
  const gossip = r.fields(cluster.get('gossip'), 'cluster.gossip', GOSSIP);
  const hints = r.fields(cluster.get('hints'), 'cluster.hints', HINTS);
  const antiEntropy = r.fields(cluster.get('anti_entropy'), 'cluster.anti_entropy', ANTI_ENTROPY);
  const limits = r.fields(top.get('limits'), 'limits', LIMITS);
  const tombstoneGraceMs =
    r.integer(cluster.get('tombstone_grace_ms'), 'cluster.tombstone_grace_ms') ?? DEFAULT_TOMBSTONE_GRACE_MS;
  const maxClockOffsetMs =
    r.integer(cluster.get('max_clock_offset_ms'), 'cluster.max_clock_offset_ms') ??
    DEFAULT_MAX_CLOCK_OFFSET_MS;
  return {
    name: r.string(cluster.get('name'), 'cluster.name') ?? DEFAULT_NAME,
    vnodes: r.integer(cluster.get('vnodes'), 'cluster.vnodes') ?? DEFAULT_VNODES,
    replication: defaultReplication(nodes.length, {
      factor: r.integer(replication?.get('factor'), 'cluster.replication.factor'),
      writeQuorum: r.integer(replication?.get('write_quorum'), 'cluster.replication.write_quorum'),
      readQuorum: r.integer(replication?.get('read_quorum'), 'cluster.replication.read_quorum'),
      sloppy: r.boolean(replication?.get('sloppy'), 'cluster.replication.sloppy'),
    }),
    gossip: {
      probeIntervalMs:
        r.integer(gossip?.get('probe_interval_ms'), 'cluster.gossip.probe_interval_ms') ??
        DEFAULT_GOSSIP.probeIntervalMs,
      probeTimeoutMs:
        r.integer(gossip?.get('probe_timeout_ms'), 'cluster.gossip.probe_timeout_ms') ??
        DEFAULT_GOSSIP.probeTimeoutMs,
      indirectProbes:
        r.integer(gossip?.get('indirect_probes'), 'cluster.gossip.indirect_probes') ??
        DEFAULT_GOSSIP.indirectProbes,
      suspicionTimeoutMs:
        r.integer(gossip?.get('suspicion_timeout_ms'), 'cluster.gossip.suspicion_timeout_ms') ??
        DEFAULT_GOSSIP.suspicionTimeoutMs,
    },
    hints: {
      maxCount: r.integer(hints?.get('max_count'), 'cluster.hints.max_count') ?? DEFAULT_HINTS.maxCount,
      maxBytes: r.size(hints?.get('max_bytes'), 'cluster.hints.max_bytes') ?? DEFAULT_HINTS.maxBytes,
      maxAgeMs:
        r.integer(hints?.get('max_age_ms'), 'cluster.hints.max_age_ms') ??
        defaultHintMaxAgeMs(tombstoneGraceMs, maxClockOffsetMs),
    },
    tombstoneGraceMs,
    antiEntropy: {
      intervalMs:
        r.integer(antiEntropy?.get('interval_ms'), 'cluster.anti_entropy.interval_ms') ??
        DEFAULT_ANTI_ENTROPY.intervalMs,
      keysPerSecond:
        r.integer(antiEntropy?.get('keys_per_second'), 'cluster.anti_entropy.keys_per_second') ??
        DEFAULT_ANTI_ENTROPY.keysPerSecond,
      bytesPerSecond:
        r.size(antiEntropy?.get('bytes_per_second'), 'cluster.anti_entropy.bytes_per_second') ??
        DEFAULT_ANTI_ENTROPY.bytesPerSecond,
    },
    maxClockOffsetMs,
    limits: readLimits(r, limits),
    ...readTls(r, cluster.get('tls')),
    ...readAuth(r, top.get('auth')),
    ...(r.boolean(cluster.get('reflection'), 'cluster.reflection') === false && { reflection: false }),
    nodes,
    source,
  };
}

function readLimits(r: YamlReader, limits: Map<string, Node | undefined> | undefined): LimitsConfig {
  const maxValueBytes =
    r.size(limits?.get('max_value_bytes'), 'limits.max_value_bytes') ?? DEFAULT_LIMITS.maxValueBytes;
  const maxMemoryBytes =
    r.size(limits?.get('max_memory'), 'limits.max_memory') ?? DEFAULT_LIMITS.maxMemoryBytes;
  const int = (name: string, dflt: number) => r.integer(limits?.get(name), `limits.${name}`) ?? dflt;
  const size = (name: string, dflt: number) => r.size(limits?.get(name), `limits.${name}`) ?? dflt;
  const maxReplyBytes =
    r.size(limits?.get('max_reply_bytes'), 'limits.max_reply_bytes') ??
    defaultMaxReplyBytes(maxValueBytes, maxMemoryBytes);
  const maxKeyBytes =
    r.size(limits?.get('max_key_bytes'), 'limits.max_key_bytes') ?? DEFAULT_LIMITS.maxKeyBytes;
  const maxBatchKeys =
    r.integer(limits?.get('max_batch_keys'), 'limits.max_batch_keys') ?? DEFAULT_LIMITS.maxBatchKeys;
  const read: Omit<LimitsConfig, 'maxRequestBytes'> = {
    maxKeyBytes,
    maxValueBytes,
    maxMemoryBytes,
    maxReplyBytes,
    maxBatchKeys,
    maxOutputBufferBytes: size('max_output_buffer_bytes', DEFAULT_LIMITS.maxOutputBufferBytes),
    maxWatchers: int('max_watchers', DEFAULT_LIMITS.maxWatchers),
    maxFramesInFlight: int('max_frames_in_flight', DEFAULT_LIMITS.maxFramesInFlight),
    maxConnections: int('max_connections', DEFAULT_LIMITS.maxConnections),
    maxStreamsPerConnection: int('max_streams_per_connection', DEFAULT_LIMITS.maxStreamsPerConnection),
    maxClientCalls: int('max_client_calls', defaultMaxClientCalls(maxMemoryBytes)),
    idleTimeoutMs: int('idle_timeout_ms', DEFAULT_LIMITS.idleTimeoutMs),
    maxTombstoneBytes: size('max_tombstone_bytes', defaultMaxTombstoneBytes(maxMemoryBytes)),
    maxClientOutputBytes: size(
      'max_client_output_bytes',
      defaultMaxClientOutputBytes(maxMemoryBytes, maxReplyBytes),
    ),
    maxClientInputBytes: size(
      'max_client_input_bytes',
      defaultMaxClientInputBytes(maxMemoryBytes, maxValueBytes),
    ),
  };
  return { ...read, maxRequestBytes: size('max_request_bytes', defaultMaxRequestBytes(read)) };
}

/** cluster.tls: every field needed; client_auth none, optional or require (default none). */
function readTls(r: YamlReader, node: Node | undefined): { tls?: TlsConfig } {
  if (r.isEmpty(node)) return {};
  const fields = r.fields(node, 'cluster.tls', TLS);
  if (!fields) return {};
  const line = r.lineOf(node);
  const file = (key: string, what: string) =>
    r.isEmpty(fields.get(key))
      ? r.missing(`cluster.tls.${key}`, line, what)
      : r.string(fields.get(key), `cluster.tls.${key}`);
  const caFile = file('ca', "the CA certificate (PEM) that signed the nodes' certificates");
  const certFile = file('cert', "each node's certificate (PEM); {id} stands for the node's id");
  const keyFile = file('key', "each node's private key (PEM); {id} stands for the node's id");
  const auth = r.isEmpty(fields.get('client_auth'))
    ? 'none'
    : r.oneOf(fields.get('client_auth'), 'cluster.tls.client_auth', ['none', 'optional', 'require'] as const);
  if (caFile === undefined || certFile === undefined || keyFile === undefined || auth === undefined)
    return {};
  return { tls: { caFile, certFile, keyFile, clientAuth: auth } };
}

/** auth.users: each with a name, a role and exactly one credential (a token's digest, a token file, a certificate name). */
function readAuth(r: YamlReader, node: Node | undefined): { auth?: AuthConfig } {
  if (r.isEmpty(node)) return {};
  const fields = r.fields(node, 'auth', AUTH);
  if (!fields) return {};
  if (r.isEmpty(fields.get('users')))
    return (
      r.missing(
        'auth.users',
        r.lineOf(node),
        'a list of users, each { name, role, token_sha256 | token_file | cert }',
      ) ?? {}
    );
  const users: AuthUser[] = [];
  r.list(fields.get('users'), 'auth.users')?.forEach((item, i) => {
    const path = `auth.users[${i}]`;
    const user = r.isEmpty(item) ? undefined : r.fields(item, path, USER);
    if (!user)
      return r.missing(path, r.lines.get(path), 'a map { name, role, token_sha256 | token_file | cert }');
    const line = r.lineOf(item);
    const name = r.isEmpty(user.get('name'))
      ? r.missing(`${path}.name`, line, 'a user name')
      : r.string(user.get('name'), `${path}.name`);
    const role = r.isEmpty(user.get('role'))
      ? r.missing(`${path}.role`, line, 'read, write or admin')
      : r.oneOf(user.get('role'), `${path}.role`, ['read', 'write', 'admin'] as const);
    const credential = (key: string) =>
      r.isEmpty(user.get(key)) ? undefined : r.string(user.get(key), `${path}.${key}`);
    const tokenSha256 = credential('token_sha256');
    const tokenFile = credential('token_file');
    const cert = credential('cert');
    if (name === undefined || role === undefined) return;
    users.push({
      name,
      role,
      ...(tokenSha256 !== undefined && { tokenSha256 }),
      ...(tokenFile !== undefined && { tokenFile }),
      ...(cert !== undefined && { cert }),
    });
  });
  return { auth: { users } };
}

function readNodes(r: YamlReader, node: Node | undefined, rootLine: number | undefined): NodeConfig[] {
  if (r.isEmpty(node))
    return (
      r.missing('nodes', r.lines.get('nodes') ?? rootLine, 'a list of nodes, each { id, address, http }') ??
      []
    );
  const nodes: NodeConfig[] = [];
  r.list(node, 'nodes')?.forEach((item, i) => {
    const path = `nodes[${i}]`;
    if (r.isEmpty(item)) return r.missing(path, r.lines.get(path), 'a map { id, address, http }');
    const fields = r.fields(item, path, NODE);
    if (fields === undefined) return;
    const line = r.lineOf(item);
    const need = <T>(
      key: string,
      read: (n: Node | undefined, p: string) => T | undefined,
      what: string,
    ): T | undefined =>
      r.isEmpty(fields.get(key))
        ? r.missing(`${path}.${key}`, line, what)
        : read(fields.get(key), `${path}.${key}`);
    const id = need('id', (n, p) => r.string(n, p), 'a node id such as n1');
    const address = need('address', (n, p) => r.hostPort(n, p), 'host:port for gRPC, such as 127.0.0.1:7401');
    const http = need('http', (n, p) => r.hostPort(n, p), 'host:port for HTTP, such as 127.0.0.1:9401');
    if (id === undefined || address === undefined || http === undefined) return;
    const optional = (key: string) =>
      r.isEmpty(fields.get(key)) ? undefined : r.hostPort(fields.get(key), `${path}.${key}`);
    const listen = optional('listen');
    const httpListen = optional('http_listen');
    const tls = r.isEmpty(fields.get('tls'))
      ? undefined
      : r.fields(fields.get('tls'), `${path}.tls`, NODE_TLS);
    const certFile = tls && r.string(tls.get('cert'), `${path}.tls.cert`);
    const keyFile = tls && r.string(tls.get('key'), `${path}.tls.key`);
    if (tls && (certFile === undefined) !== (keyFile === undefined)) {
      r.report(line, `${path}.tls`, 'needs both cert and key');
    }
    nodes.push({
      id,
      address: address.text,
      host: address.host,
      port: address.port,
      http: http.text,
      httpHost: http.host,
      httpPort: http.port,
      ...(listen && { listen: { host: listen.host, port: listen.port, text: listen.text } }),
      ...(httpListen && {
        httpListen: { host: httpListen.host, port: httpListen.port, text: httpListen.text },
      }),
      ...(certFile !== undefined && keyFile !== undefined && { tls: { certFile, keyFile } }),
    });
  });
  return nodes;
}

/**
 * hints.max_age_ms left out: the default, or half the tombstone grace when that is shorter; and when
 * that plus the clock offset would not fit in the grace (validate.ts), half of what the offset leaves.
 */
function defaultHintMaxAgeMs(tombstoneGraceMs: number, maxClockOffsetMs: number): number {
  const half = Math.min(DEFAULT_HINTS.maxAgeMs, Math.floor(tombstoneGraceMs / 2));
  if (half + maxClockOffsetMs < tombstoneGraceMs) return Math.max(1, half);
  return Math.max(1, Math.floor((tombstoneGraceMs - maxClockOffsetMs) / 2));
}
