import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ClusterConfig, NodeConfig } from '../config/types';
import { RingCacheError } from '../errors';
import { CLUSTER_TOKEN_ENV, CLUSTER_TOKEN_FILE_ENV, clusterTokenFromEnv } from '../transport/cluster-token';

/**
 * glibc malloc settings for each node, overridden by the caller's environment (README "Sizing memory"):
 * - MALLOC_MMAP_THRESHOLD_: allocations of 128 KiB and more get pages of their own, given back to the
 *   system when freed. By default the threshold grows to the size of the largest block freed, after
 *   which the request Buffers of large values come from the heap and RSS keeps them.
 * - MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_: setting the mmap threshold also stops glibc from
 *   raising its trim threshold (to twice the mmap threshold as large blocks are freed), which then
 *   stays at 128 KiB: the top of the heap was given back to the system and faulted in again after
 *   every burst, 4,000 page faults a second per node of a test cluster under load. Keeping up to
 *   2 MiB free at the top of each heap (grown 512 KiB at a time) cut the faults fourfold to fivefold
 *   and the nodes' system time by about 40%, for about 6 MB of RSS; 8 MiB did no better.
 */
export const NODE_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: String(2 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(512 * 1024),
};

/** The CLI entry (dist/src/cli/main.js) that each node process runs. */
export const CLI_PATH = path.resolve(__dirname, 'main.js');

/** What a node prints on stdout once it serves: `serving n1 127.0.0.1:7401 http 127.0.0.1:9401`. */
export const READY_LINE = 'serving';

/** Environment variable through which `up` hands a node the validated cluster config (nothing is written). */
export const CONFIG_ENV = 'RINGCACHE_CLUSTER_CONFIG';

export interface NodeExit {
  id: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last log lines of the node, newest last. */
  lastLines: string[];
}

export interface LocalClusterOptions {
  /** Called with each JSON log line a node writes (stderr). */
  onLog?: (id: string, line: string) => void;
  /** Called when a node exits that was not asked to stop. */
  onCrash?: (exit: NodeExit) => void;
  /**
   * How long to wait for each node to serve. Default 60 s: a node that exits is reported at once,
   * so this only bounds a start that hangs, and on a busy machine (two cores, other clusters
   * starting) five nodes took more than 15 s to load and catch up.
   */
  startTimeoutMs?: number;
  /**
   * Extra environment for node processes (e.g. RINGCACHE_LOG_LEVEL). A cluster secret set here or in
   * this process's environment (RINGCACHE_CLUSTER_TOKEN or RINGCACHE_CLUSTER_TOKEN_FILE) is the
   * nodes' one; otherwise they get a random one (see LocalCluster.clusterToken).
   */
  env?: Record<string, string>;
  /** Extra Node.js flags for node processes (e.g. --cpu-prof for profiling). */
  nodeArgs?: string[];
  /**
   * How to start one node's process: a command that runs the rest (such as `ip netns exec NS`, which
   * execs it, so the pid stays the node's) and environment of its own (such as libfaketime's).
   * Default: node started directly.
   */
  launch?: (id: string) => { prefix?: string[]; env?: Record<string, string> };
}

interface RunningNode {
  node: NodeConfig;
  child: ChildProcess;
  lines: string[];
  exited: Promise<NodeExit>;
  stopping: boolean;
}

const KEEP_LINES = 30;
/** Signals after which a node is still running. */
const KEEPS_RUNNING: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(['SIGSTOP', 'SIGCONT', 'SIGHUP']);

/**
 * Runs every node of a cluster config as its own process (`ringcache node --id ...`), as `npm start`
 * does and as the integration tests do, so both exercise the same code. Nodes are real processes on
 * real ports; `kill` sends real signals.
 */
export class LocalCluster {
  readonly config: ClusterConfig;
  /**
   * The secret every node of this cluster holds (their Peer service and admin calls refuse callers
   * without it): the one given in the environment, else 32 random bytes made for this cluster, so a
   * local cluster is protected with no set-up.
   */
  readonly clusterToken: string;
  readonly #opts: LocalClusterOptions;
  readonly #running = new Map<string, RunningNode>();
  /** Nodes started with joinNode: not in the config, joined through a seed. */
  readonly #joined = new Map<string, { node: NodeConfig; seed: string }>();

  constructor(config: ClusterConfig, opts: LocalClusterOptions = {}) {
    this.config = config;
    this.#opts = opts;
    this.clusterToken =
      clusterTokenFromEnv({ ...process.env, ...opts.env }) ?? randomBytes(32).toString('hex');
  }

  /** Starts every node and resolves once all of them serve; on failure stops the others and throws. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.config.nodes.map((n) => this.startNode(n.id)));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  node(id: string): NodeConfig {
    const n = this.config.nodes.find((x) => x.id === id) ?? this.#joined.get(id)?.node;
    if (!n)
      throw new RingCacheError(
        'NOT_FOUND',
        `no node '${id}' in this cluster (${this.config.nodes.map((x) => x.id).join(', ')})`,
      );
    return n;
  }

  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  pid(id: string): number | undefined {
    return this.#running.get(id)?.child.pid;
  }

  /** Starts (or restarts) one node; resolves when it logs that it serves. */
  /**
   * Starts a node that is not in the config and joins it to the ring through `seed`
   * (`ringcache node --join`): the cluster moves the keys it now owns to it.
   */
  joinNode(node: NodeConfig, seed: string): Promise<void> {
    this.#joined.set(node.id, { node, seed });
    return this.startNode(node.id);
  }

  startNode(id: string): Promise<void> {
    const node = this.node(id);
    if (this.#running.has(id)) return Promise.resolve();
    const joined = this.#joined.get(id);
    const joinArgs = joined ? ['--join', joined.seed, '--address', node.address, '--http', node.http] : [];
    const launch = this.#opts.launch?.(id) ?? {};
    const [command, ...args] = [
      ...(launch.prefix ?? []),
      process.execPath,
      ...(this.#opts.nodeArgs ?? []),
      CLI_PATH,
      'node',
      '--id',
      id,
      ...joinArgs,
    ];
    const child = spawn(command!, args, {
      env: {
        ...NODE_ENV_DEFAULTS,
        ...process.env,
        ...this.#opts.env,
        ...launch.env,
        [CLUSTER_TOKEN_ENV]: this.clusterToken,
        [CLUSTER_TOKEN_FILE_ENV]: '',
        [CONFIG_ENV]: JSON.stringify(this.config),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const running: RunningNode = {
      node,
      child,
      lines: [],
      exited: undefined as unknown as Promise<NodeExit>,
      stopping: false,
    };
    running.exited = new Promise<NodeExit>((resolve) => {
      // 'close', not 'exit': by then stderr is read to its end, a dying node's last words included.
      child.once('close', (code, signal) => {
        if (this.#running.get(id) === running) this.#running.delete(id);
        const exit = { id, code, signal, lastLines: running.lines.slice() };
        if (!running.stopping) this.#opts.onCrash?.(exit);
        resolve(exit);
      });
    });
    this.#running.set(id, running);
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.#opts.startTimeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        reject(
          new RingCacheError(
            'UNAVAILABLE',
            `node ${id} did not start serving on ${node.address} within ${timeoutMs} ms; last log lines:\n${running.lines.join('\n')}`,
          ),
        );
      }, timeoutMs);
      // Read by whole lines: a pipe may hand over a line in two chunks.
      let stdoutTail = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const lines = (stdoutTail + chunk).split('\n');
        stdoutTail = lines.pop()!;
        if (lines.some((line) => line.startsWith(`${READY_LINE} ${id} `))) {
          clearTimeout(timer);
          resolve();
        }
      });
      let buffered = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          running.lines.push(line);
          if (running.lines.length > KEEP_LINES) running.lines.shift();
          this.#opts.onLog?.(id, line);
        }
      });
      void running.exited.then((exit) => {
        clearTimeout(timer);
        reject(new RingCacheError('UNAVAILABLE', describeExit(exit)));
      });
    });
  }

  /**
   * Sends a signal for real. SIGKILL and SIGSTOP are what the chaos tests use; SIGSTOP, SIGCONT and
   * SIGHUP (reload the TLS files) leave the node running.
   */
  kill(id: string, signal: NodeJS.Signals): Promise<NodeExit> | undefined {
    const running = this.#running.get(id);
    if (!running) return undefined;
    const ends = !KEEPS_RUNNING.has(signal);
    if (ends) running.stopping = true;
    running.child.kill(signal);
    return ends ? running.exited : undefined;
  }

  /** Graceful stop of one node (SIGTERM), SIGKILL after `graceMs`. */
  async stopNode(id: string, graceMs = 8000): Promise<NodeExit | undefined> {
    const running = this.#running.get(id);
    if (!running) return undefined;
    running.stopping = true;
    running.child.kill('SIGCONT');
    running.child.kill('SIGTERM');
    const timer = setTimeout(() => running.child.kill('SIGKILL'), graceMs);
    const exit = await running.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Stops every node gracefully. Idempotent. */
  async stop(): Promise<NodeExit[]> {
    const exits = await Promise.all([...this.#running.keys()].map((id) => this.stopNode(id)));
    return exits.filter((e): e is NodeExit => e !== undefined);
  }
}

export function describeExit(exit: NodeExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const tail = exit.lastLines.length ? `; last log lines:\n  ${exit.lastLines.slice(-10).join('\n  ')}` : '';
  return `node ${exit.id} ${how}${tail}`;
}
