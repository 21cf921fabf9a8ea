import { sameBindHost } from './address';
import {
  MAX_BATCH_KEYS_CAP,
  MIN_BATCH_KEYS,
  MAX_REPLY_BYTES_CAP,
  MAX_REQUEST_BYTES_CAP,
  minMaxRequestBytes,
} from './defaults';
import type { ConfigIssues } from './issues';
import type { ClusterConfig } from './types';

/** Where a field was written: its line, or undefined (generated config, or a default). */
export type LineOf = (path: string) => number | undefined;

/** True for a field whose value is a default (not in the file); generated configs pass nothing. */
export type IsDefault = (path: string) => boolean;

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_VNODES = 10_000;

/**
 * Ranges and relations between fields, on the finished config (defaults applied), so a loaded file
 * and a generated config are held to the same rules. Paths in messages are cluster.yml's names.
 * A field left out is reported at its nearest written parent, with "(default)" after its value.
 */
export function validateConfig(
  config: ClusterConfig,
  lineOf: LineOf,
  issues: ConfigIssues,
  isDefault: IsDefault = () => false,
): void {
  const c = new Checks(lineOf, issues, isDefault);
  const { at, given, wholeInRange } = c;
  if (!NODE_ID.test(config.name))
    issues.add(at('cluster.name'), 'cluster.name', `"${config.name}" must match ${NODE_ID}`);
  wholeInRange('cluster.vnodes', config.vnodes, 1, MAX_VNODES);
  checkReplication(config, c);
  checkGossip(config, c);
  wholeInRange('cluster.hints.max_count', config.hints.maxCount, 1);
  wholeInRange('cluster.hints.max_bytes', config.hints.maxBytes, 1);
  wholeInRange('cluster.hints.max_age_ms', config.hints.maxAgeMs, 1);
  wholeInRange('cluster.tombstone_grace_ms', config.tombstoneGraceMs, 1);
  wholeInRange('cluster.max_clock_offset_ms', config.maxClockOffsetMs, 1);
  wholeInRange('cluster.anti_entropy.interval_ms', config.antiEntropy.intervalMs, 0);
  wholeInRange('cluster.anti_entropy.keys_per_second', config.antiEntropy.keysPerSecond, 1);
  wholeInRange('cluster.anti_entropy.bytes_per_second', config.antiEntropy.bytesPerSecond, 1024);
  checkClockBounds(config, c);
  const { maxKeyBytes, maxValueBytes, maxMemoryBytes } = config.limits;
  wholeInRange('limits.max_key_bytes', maxKeyBytes, 1);
  wholeInRange('limits.max_value_bytes', maxValueBytes, 1);
  wholeInRange('limits.max_memory', maxMemoryBytes, 1);
  if (maxKeyBytes + maxValueBytes > maxMemoryBytes) {
    issues.add(
      at('limits.max_memory'),
      'limits.max_memory',
      `${given('limits.max_memory', maxMemoryBytes)} is smaller than max_key_bytes + max_value_bytes ` +
        `(${maxKeyBytes} + ${maxValueBytes}); one entry must fit in memory`,
    );
  }
  checkRequestLimits(config, c);
  checkNodes(config, c);
  checkAuth(config, c);
}

/**
 * The bounds that hang on one another through the clocks. A tombstone is purged tombstone_grace_ms
 * after its delete on its writer's clock, which may be max_clock_offset_ms behind another node's: so
 * seen from the node keeping a hint, a tombstone may be gone max_clock_offset_ms early, and a hint
 * handed back after that would bring the deleted value back. Hints are aged on their keeper's own
 * clock, so their whole lifetime plus the offset must fit in the grace.
 */
function checkClockBounds(config: ClusterConfig, { at, given, issues }: Checks): void {
  const { maxClockOffsetMs, tombstoneGraceMs } = config;
  const hintMaxAgeMs = config.hints.maxAgeMs;
  if (hintMaxAgeMs + maxClockOffsetMs >= tombstoneGraceMs) {
    issues.add(
      at('cluster.hints.max_age_ms'),
      'cluster.hints.max_age_ms',
      `${given('cluster.hints.max_age_ms', hintMaxAgeMs)} plus max_clock_offset_ms ` +
        `${given('cluster.max_clock_offset_ms', maxClockOffsetMs)} must be shorter than ` +
        `tombstone_grace_ms ${given('cluster.tombstone_grace_ms', tombstoneGraceMs)}: a hint handed back ` +
        'after the tombstone of a later delete is purged would bring the deleted value back',
    );
  }
  if (tombstoneGraceMs <= 2 * maxClockOffsetMs) {
    issues.add(
      at('cluster.tombstone_grace_ms'),
      'cluster.tombstone_grace_ms',
      `${given('cluster.tombstone_grace_ms', tombstoneGraceMs)} must be longer than twice ` +
        `max_clock_offset_ms ${given('cluster.max_clock_offset_ms', maxClockOffsetMs)}: a copy sent to a ` +
        "key's new replica after a ring change is judged young enough on two clocks, each up to that bound off",
    );
  }
}

/** max_reply_bytes, max_batch_keys and the stream and connection limits (types.ts LimitsConfig). */
function checkRequestLimits(config: ClusterConfig, { at, given, wholeInRange, issues }: Checks): void {
  const { maxValueBytes, maxReplyBytes, maxBatchKeys } = config.limits;
  const path = 'limits.max_reply_bytes';
  wholeInRange(path, maxReplyBytes, 1, MAX_REPLY_BYTES_CAP);
  // The SDK's frames carry up to 256 operations: a smaller limit would refuse its every full frame.
  wholeInRange('limits.max_batch_keys', maxBatchKeys, MIN_BATCH_KEYS, MAX_BATCH_KEYS_CAP);
  const l = config.limits;
  wholeInRange('limits.max_output_buffer_bytes', l.maxOutputBufferBytes, 1024, MAX_REPLY_BYTES_CAP);
  wholeInRange('limits.max_watchers', l.maxWatchers, 1, 1_000_000);
  wholeInRange('limits.max_frames_in_flight', l.maxFramesInFlight, 1, 4096);
  wholeInRange('limits.max_connections', l.maxConnections, 1, 1_000_000);
  // Below 10 an SDK client's own streams (watches, topology, a pipeline, unary calls) queue.
  wholeInRange('limits.max_streams_per_connection', l.maxStreamsPerConnection, 10, 2 ** 31 - 1);
  // Below 16 an SDK client's own calls (a pipeline and a watch per node, unary calls) are refused.
  wholeInRange('limits.max_client_calls', l.maxClientCalls, 16, 100_000_000);
  wholeInRange('limits.idle_timeout_ms', l.idleTimeoutMs, 1000, 2 ** 31 - 1);
  // More than max_memory is allowed: max_memory bounds tombstones too.
  wholeInRange('limits.max_tombstone_bytes', l.maxTombstoneBytes, 1);
  // A node-wide budget of the clients' bytes must hold the largest one request may bring or ask for.
  const budget = (path: string, value: number, floorName: string, floor: number, what: string): void => {
    wholeInRange(path, value, 1);
    if (Number.isInteger(value) && value < floor) {
      issues.add(
        at(path),
        path,
        `${given(path, value)} is smaller than ${floorName} ${floor}; ${what} of ${floorName} must fit in it`,
      );
    }
  };
  budget(
    'limits.max_client_output_bytes',
    l.maxClientOutputBytes,
    'max_reply_bytes',
    maxReplyBytes,
    'a reply',
  );
  budget('limits.max_client_input_bytes', l.maxClientInputBytes, 'max_value_bytes', maxValueBytes, 'a Set');
  // Below the largest frame the SDK sends, its streams would be refused.
  const requestPath = 'limits.max_request_bytes';
  const smallest = minMaxRequestBytes(maxValueBytes, l.maxKeyBytes);
  wholeInRange(requestPath, l.maxRequestBytes, 1, MAX_REQUEST_BYTES_CAP);
  if (Number.isInteger(l.maxRequestBytes) && l.maxRequestBytes < smallest) {
    issues.add(
      at(requestPath),
      requestPath,
      `${given(requestPath, l.maxRequestBytes)} is smaller than ${smallest}, the largest frame ` +
        'the SDK sends (4 MiB, max_value_bytes, max_key_bytes and 1 MiB of framing)',
    );
  }
  if (
    Number.isInteger(maxReplyBytes) &&
    maxReplyBytes <= MAX_REPLY_BYTES_CAP &&
    maxReplyBytes < maxValueBytes
  ) {
    issues.add(
      at(path),
      path,
      `${given(path, maxReplyBytes)} is smaller than max_value_bytes ${maxValueBytes}; ` +
        'a get of the largest value must fit in a reply',
    );
  }
}

/** Message helpers bound to one config's lines and issue list. */
class Checks {
  constructor(
    readonly lineOf: LineOf,
    readonly issues: ConfigIssues,
    readonly isDefault: IsDefault,
  ) {}

  /** The line of the field, or of its nearest written parent. */
  at = (path: string): number | undefined => nearestLine(path, this.lineOf);

  /** The value as a message shows it: "(default)" when the file did not set it. */
  given = (path: string, value: number): string => (this.isDefault(path) ? `${value} (default)` : `${value}`);

  wholeInRange = (path: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
      this.issues.add(this.at(path), path, `${value} is out of range; expected a whole number ${range}`);
    }
  };
}

function checkReplication(config: ClusterConfig, { at, given, wholeInRange, issues }: Checks): void {
  const { factor, writeQuorum, readQuorum } = config.replication;
  const nodeCount = config.nodes.length;
  if (nodeCount === 0) return; // reported once, as "nodes: at least one node is required"
  const factorPath = 'cluster.replication.factor';
  if (!Number.isInteger(factor) || factor < 1) return wholeInRange(factorPath, factor, 1);
  if (factor > nodeCount) {
    issues.add(
      at(factorPath),
      factorPath,
      `${factor} is larger than the number of nodes (${nodeCount}); each key needs ${factor} distinct nodes`,
    );
  }
  for (const [field, value] of [
    ['write_quorum', writeQuorum],
    ['read_quorum', readQuorum],
  ] as const) {
    const path = `cluster.replication.${field}`;
    if (!Number.isInteger(value) || value < 1) wholeInRange(path, value, 1);
    else if (value > factor) {
      issues.add(
        at(path),
        path,
        `${given(path, value)} is larger than replication.factor ${given(factorPath, factor)}`,
      );
    }
  }
}

function checkGossip(config: ClusterConfig, { at, wholeInRange, issues }: Checks): void {
  const g = config.gossip;
  wholeInRange('cluster.gossip.probe_interval_ms', g.probeIntervalMs, 1);
  wholeInRange('cluster.gossip.probe_timeout_ms', g.probeTimeoutMs, 1);
  wholeInRange('cluster.gossip.indirect_probes', g.indirectProbes, 0); // 0: no indirect probes
  wholeInRange('cluster.gossip.suspicion_timeout_ms', g.suspicionTimeoutMs, 1);
  if (g.probeTimeoutMs >= g.probeIntervalMs) {
    const path = 'cluster.gossip.probe_timeout_ms';
    issues.add(
      at(path),
      path,
      `${g.probeTimeoutMs} must be less than probe_interval_ms ${g.probeIntervalMs}, or probes overlap`,
    );
  }
}

/** Ids unique and well-formed; no port bound twice on one host, across gRPC and HTTP. */
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** auth.users: unique names, exactly one credential each, and no credential shared by two users. */
function checkAuth(config: ClusterConfig, { at, issues }: Checks): void {
  const names = new Set<string>();
  const credentials = new Map<string, string>();
  config.auth?.users.forEach((user, i) => {
    const path = `auth.users[${i}]`;
    if (names.has(user.name))
      issues.add(at(`${path}.name`), `${path}.name`, `"${user.name}" is listed twice`);
    names.add(user.name);
    const given = (['tokenSha256', 'tokenFile', 'cert'] as const).filter((k) => user[k] !== undefined);
    if (given.length !== 1) {
      issues.add(
        at(path),
        path,
        `needs exactly one of token_sha256, token_file or cert (has ${given.length}); ` +
          'make a token\'s digest with: printf %s "$TOKEN" | sha256sum',
      );
    }
    if (user.tokenSha256 !== undefined && !SHA256_HEX.test(user.tokenSha256)) {
      issues.add(
        at(`${path}.token_sha256`),
        `${path}.token_sha256`,
        'must be a SHA-256 in hex (64 characters), never the token itself',
      );
    }
    const credential =
      user.tokenSha256?.toLowerCase() ?? user.tokenFile ?? (user.cert && `cert ${user.cert}`);
    if (credential === undefined) return;
    const other = credentials.get(credential);
    if (other !== undefined) issues.add(at(path), path, `has the same credential as user ${other}`);
    credentials.set(credential, user.name);
  });
}

function checkNodes(config: ClusterConfig, { at, issues }: Checks): void {
  if (config.nodes.length === 0) {
    issues.add(at('nodes'), 'nodes', 'at least one node is required');
    return;
  }
  const firstWithId = new Map<string, number>();
  const bound: { host: string; port: number; path: string }[] = [];
  config.nodes.forEach((node, i) => {
    const idPath = `nodes[${i}].id`;
    if (!NODE_ID.test(node.id))
      issues.add(
        at(idPath),
        idPath,
        `"${node.id}" must match ${NODE_ID} (letters, digits, _ . -; at most 64)`,
      );
    if (node.id === '__proto__')
      issues.add(at(idPath), idPath, '"__proto__" is reserved (the ring keeps ids in plain objects)');
    const first = firstWithId.get(node.id);
    if (first === undefined) firstWithId.set(node.id, i);
    else
      issues.add(
        at(idPath),
        idPath,
        `duplicate id "${node.id}" (also nodes[${first}], line ${at(`nodes[${first}].id`) ?? '?'})`,
      );
    for (const [field, host, port] of [
      ['address', node.host, node.port],
      ['http', node.httpHost, node.httpPort],
    ] as const) {
      const path = `nodes[${i}].${field}`;
      const clash = bound.find((b) => b.port === port && sameBindHost(b.host, host));
      if (clash) {
        const where = at(clash.path) === undefined ? clash.path : `${clash.path}, line ${at(clash.path)}`;
        issues.add(at(path), path, `port ${port} on ${host} is already used by ${where}`);
      }
      bound.push({ host, port, path });
    }
  });
}

/** The line of `path`, else of its closest parent that was written (a.b[2].c -> a.b[2] -> a.b -> a). */
function nearestLine(path: string, lineOf: LineOf): number | undefined {
  for (let p = path; p !== ''; p = p.replace(/(\.[^.[\]]+|\[\d+\])$|^[^.[\]]+$/, '')) {
    const line = lineOf(p);
    if (line !== undefined) return line;
  }
  return undefined;
}
