import { generateLocalConfig } from '../../src/config/generate';
import {
  defaultMaxClientCalls,
  defaultMaxClientInputBytes,
  defaultMaxClientOutputBytes,
  defaultMaxReplyBytes,
  defaultMaxRequestBytes,
  defaultMaxTombstoneBytes,
} from '../../src/config/defaults';
import type { AuthConfig, ClusterConfig, LimitsConfig, NodeConfig, TlsConfig } from '../../src/config/types';
import {
  describeExit,
  LocalCluster,
  type LocalClusterOptions,
  type NodeExit,
} from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCache, type RingCacheOptions } from '../../src/index';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { freePorts } from './ports';
import { metricsText, sampleIn, sampleOf } from './node-metrics';

export interface TestClusterOptions {
  nodes: number;
  factor?: number;
  writeQuorum?: number;
  readQuorum?: number;
  /** cluster.replication.sloppy. Default false. */
  sloppy?: boolean;
  maxMemoryBytes?: number;
  maxKeyBytes?: number;
  maxValueBytes?: number;
  /** Any other limits (max_watchers, idle_timeout_ms...). Default: the shipped defaults. */
  limits?: Partial<LimitsConfig>;
  /** Extra env for node processes. */
  env?: Record<string, string>;
  /** How to start one node's process (LocalClusterOptions.launch), e.g. under libfaketime. */
  launch?: LocalClusterOptions['launch'];
  /** cluster.anti_entropy.interval_ms (0 = off). Default: the shipped default. */
  antiEntropyMs?: number;
  /** cluster.anti_entropy.bytes_per_second. Default: the shipped default. */
  antiEntropyBytesPerSecond?: number;
  /** cluster.hints.max_age_ms. Default: the shipped default. */
  hintMaxAgeMs?: number;
  /** cluster.max_clock_offset_ms. Default: the shipped default. */
  maxClockOffsetMs?: number;
  /** cluster.tombstone_grace_ms. Default: the shipped default. */
  tombstoneGraceMs?: number;
  /**
   * cluster.gossip.suspicion_timeout_ms: how long a suspected member has to refute before it is
   * declared dead. Default: the shipped default (1.5 s).
   */
  suspicionTimeoutMs?: number;
  /** cluster.tls. Default: none (plaintext). */
  tls?: TlsConfig;
  /** auth (users and roles). Default: none (the Cache service open). */
  auth?: AuthConfig;
  /** cluster.reflection. Default: on. */
  reflection?: boolean;
  /** Each node's http_listen on 0.0.0.0 (its http address stays 127.0.0.1): not a loopback bind. */
  httpOnAllInterfaces?: boolean;
}

/**
 * A real cluster for a test: node processes started by the same LocalCluster as `npm start`, on free
 * 127.0.0.1 ports. Always `stop()` it in `after`.
 */
export class TestCluster {
  readonly cluster: LocalCluster;
  readonly crashes: NodeExit[] = [];
  readonly logs = new Map<string, string[]>();
  readonly #clients: RingCache[] = [];

  private constructor(config: ClusterConfig, opts: Pick<TestClusterOptions, 'env' | 'launch'>) {
    this.cluster = new LocalCluster(config, {
      env: opts.env,
      launch: opts.launch,
      // Said at once, with the node's last log lines: a node that dies under a test is the cause
      // of whatever fails next, and the only trace of why it died.
      onCrash: (exit) => {
        this.crashes.push(exit);
        process.stderr.write(`\n    [test cluster] ${describeExit(exit)}\n`);
      },
      onLog: (id, line) => {
        const lines = this.logs.get(id) ?? [];
        lines.push(line);
        if (lines.length > 2000) lines.shift();
        this.logs.set(id, lines);
      },
    });
  }

  static async start(opts: TestClusterOptions): Promise<TestCluster> {
    const config = await testConfig(opts);
    const t = new TestCluster(config, opts);
    await t.cluster.start();
    return t;
  }

  get config(): ClusterConfig {
    return this.cluster.config;
  }

  address(id: string): string {
    return this.cluster.node(id).address;
  }

  /** The secret the nodes hold (LocalCluster.clusterToken): admin and Peer calls need it. */
  get clusterToken(): string {
    return this.cluster.clusterToken;
  }

  get seeds(): string[] {
    return this.config.nodes.map((n) => n.address);
  }

  async client(opts: Partial<RingCacheOptions> = {}): Promise<RingCache> {
    const c = await RingCache.connect({ seeds: this.seeds, clusterToken: this.clusterToken, ...opts });
    this.#clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
    await this.cluster.stop();
  }
}

/**
 * A test cluster's limits: what cluster.yml would give for its max_memory (64 MiB unless told) and
 * value and key sizes, every limit derived from them included, then opts.limits.
 */
function testLimits(base: LimitsConfig, opts: TestClusterOptions): LimitsConfig {
  const maxMemoryBytes = opts.maxMemoryBytes ?? 64 * 1024 * 1024;
  const maxValueBytes = opts.maxValueBytes ?? base.maxValueBytes;
  const maxKeyBytes = opts.maxKeyBytes ?? base.maxKeyBytes;
  const maxBatchKeys = opts.limits?.maxBatchKeys ?? base.maxBatchKeys;
  const maxReplyBytes = opts.limits?.maxReplyBytes ?? defaultMaxReplyBytes(maxValueBytes, maxMemoryBytes);
  const limits = {
    ...base,
    maxKeyBytes,
    maxValueBytes,
    maxMemoryBytes,
    maxReplyBytes,
    maxBatchKeys,
    maxTombstoneBytes: defaultMaxTombstoneBytes(maxMemoryBytes),
    maxClientOutputBytes: defaultMaxClientOutputBytes(maxMemoryBytes, maxReplyBytes),
    maxClientInputBytes: defaultMaxClientInputBytes(maxMemoryBytes, maxValueBytes),
    maxClientCalls: defaultMaxClientCalls(maxMemoryBytes),
    ...opts.limits,
  };
  return { ...limits, maxRequestBytes: opts.limits?.maxRequestBytes ?? defaultMaxRequestBytes(limits) };
}

export async function testConfig(opts: TestClusterOptions): Promise<ClusterConfig> {
  const ports = await freePorts(opts.nodes * 2);
  const base = generateLocalConfig({ nodes: opts.nodes });
  const factor = opts.factor ?? Math.min(3, opts.nodes);
  return {
    ...base,
    name: 'test',
    replication: {
      factor,
      writeQuorum: opts.writeQuorum ?? Math.min(2, factor),
      readQuorum: opts.readQuorum ?? 1,
      sloppy: opts.sloppy ?? false,
    },
    antiEntropy: {
      ...base.antiEntropy,
      intervalMs: opts.antiEntropyMs ?? base.antiEntropy.intervalMs,
      bytesPerSecond: opts.antiEntropyBytesPerSecond ?? base.antiEntropy.bytesPerSecond,
    },
    gossip: { ...base.gossip, suspicionTimeoutMs: opts.suspicionTimeoutMs ?? base.gossip.suspicionTimeoutMs },
    hints: { ...base.hints, maxAgeMs: opts.hintMaxAgeMs ?? base.hints.maxAgeMs },
    maxClockOffsetMs: opts.maxClockOffsetMs ?? base.maxClockOffsetMs,
    tombstoneGraceMs: opts.tombstoneGraceMs ?? base.tombstoneGraceMs,
    ...(opts.tls && { tls: opts.tls }),
    ...(opts.auth && { auth: opts.auth }),
    ...(opts.reflection !== undefined && { reflection: opts.reflection }),
    limits: testLimits(base.limits, opts),
    nodes: base.nodes.map((n, i) => ({
      ...n,
      address: `127.0.0.1:${ports[2 * i]}`,
      port: ports[2 * i]!,
      http: `127.0.0.1:${ports[2 * i + 1]}`,
      httpPort: ports[2 * i + 1]!,
      ...(opts.httpOnAllInterfaces && {
        httpListen: { host: '0.0.0.0', port: ports[2 * i + 1]!, text: `0.0.0.0:${ports[2 * i + 1]}` },
      }),
    })),
    source: '<test>',
  };
}

/** A node not in the cluster's config, on free 127.0.0.1 ports: for joins (`LocalCluster.joinNode`). */
export async function extraNode(id: string): Promise<NodeConfig> {
  const [port, httpPort] = await freePorts(2);
  return {
    id,
    address: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port: port!,
    http: `127.0.0.1:${httpPort}`,
    httpHost: '127.0.0.1',
    httpPort: httpPort!,
  };
}

/** Waits until `check` returns a truthy value (re-checked every `everyMs`), or fails naming `what`. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  /** The check's last error; a later check that returned falsy clears it, so a timeout names the latest state. */
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A node's Prometheus metric: the first sample of `name` whose line holds `label` (NaN when none),
 * read from its /metrics.
 */
export async function metric(t: TestCluster, id: string, name: string, label = ''): Promise<number> {
  return sampleOf(t.cluster.node(id).http, name, label);
}

/**
 * Several of a node's Prometheus metrics (the first sample of each name, NaN when absent), from one
 * read of its /metrics: values taken at the same moment, which separate reads are not.
 */
export async function metricsOf<N extends string>(
  t: TestCluster,
  id: string,
  names: readonly N[],
): Promise<Record<N, number>> {
  const text = await metricsText(t.cluster.node(id).http);
  const values = {} as Record<N, number>;
  for (const name of names) values[name] = sampleIn(text, name);
  return values;
}

/** Whether every node but `member` holds it in `state` (MemberStateWire), by their Topology. */
export async function othersHold(t: TestCluster, member: string, state: number): Promise<boolean> {
  const observers = t.config.nodes.filter((n) => n.id !== member);
  const held = await Promise.all(
    observers.map(async (n) => {
      const c = new UnaryClient(n.address, 3000);
      try {
        const topo = await c.cluster<TopologyResponseMsg>('Topology', {});
        return topo.members.find((m) => m.id === member)?.state === state;
      } finally {
        c.close();
      }
    }),
  );
  return held.every(Boolean);
}
