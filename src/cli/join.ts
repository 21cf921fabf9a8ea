import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterConfig, NodeConfig } from '../config/types';
import { hostPortOrReason } from '../config/address';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import type { TopologyResponseMsg } from '../proto/messages';
import type { CacheNode } from '../server/node';
import { UnaryClient } from './unary-client';

/** Where a node is, from the command line: needed for a node its cluster.yml does not list. */
export interface NodePlace {
  id: string;
  address?: string;
  http?: string;
  listen?: string;
  httpListen?: string;
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The config this node runs with. A node cluster.yml lists is taken from it, and flags that say
 * where it is must agree with the file (a pod's arguments are the same for every pod, so they are
 * checked, not trusted). A node the file does not list (a StatefulSet scaled past the ConfigMap's
 * nodes) is added from the flags: --address and --http are needed, --listen and --http-listen bind
 * elsewhere than those (0.0.0.0 in a container).
 */
export function nodeConfigOf(config: ClusterConfig, place: NodePlace): ClusterConfig {
  const inFile = config.nodes.find((n) => n.id === place.id);
  if (inFile) {
    const clash = (
      [
        ['--address', place.address, inFile.address],
        ['--http', place.http, inFile.http],
        ['--listen', place.listen, inFile.listen?.text ?? inFile.address],
        ['--http-listen', place.httpListen, inFile.httpListen?.text ?? inFile.http],
      ] as const
    ).find(([, flag, file]) => flag !== undefined && flag !== file);
    if (clash) {
      const [flag, given, file] = clash;
      throw new RingCacheError(
        'CONFIG_INVALID',
        `${flag} ${given} disagrees with ${config.source}, which gives node '${place.id}' ${file}`,
      );
    }
    return config;
  }
  if (!NODE_ID.test(place.id))
    throw new RingCacheError(
      'CONFIG_INVALID',
      `node id '${place.id}' must be 1-64 letters, digits, _ . or -`,
    );
  const parse = (flag: string, value: string | undefined) => {
    const parsed = hostPortOrReason(value ?? '');
    if (typeof parsed === 'string')
      throw new RingCacheError(
        'CONFIG_INVALID',
        `node '${place.id}' is not in ${config.source}: ${flag} host:port says where it is (${parsed})`,
      );
    return parsed;
  };
  const grpc = parse('--address', place.address);
  const http = parse('--http', place.http);
  const listen = place.listen === undefined ? undefined : parse('--listen', place.listen);
  const httpListen = place.httpListen === undefined ? undefined : parse('--http-listen', place.httpListen);
  const self: NodeConfig = {
    id: place.id,
    address: place.address!,
    host: grpc.host,
    port: grpc.port,
    http: place.http!,
    httpHost: http.host,
    httpPort: http.port,
    ...(listen && { listen: { ...listen, text: place.listen! } }),
    ...(httpListen && { httpListen: { ...httpListen, text: place.httpListen! } }),
  };
  return { ...config, nodes: [...config.nodes, self] };
}

/** The members to ask for the cluster's ring: `--join`'s first, then every other node of the file. */
export function seedsOf(config: ClusterConfig, selfId: string, join: string | undefined): string[] {
  const self = config.nodes.find((n) => n.id === selfId);
  const others = config.nodes.filter((n) => n.id !== selfId).map((n) => n.address);
  return [...new Set([...(join ? [join] : []), ...others])].filter((a) => a !== self?.address);
}

export interface AdmitOptions {
  node: CacheNode;
  /** Whether cluster.yml lists this node (a first start with no other member up is then normal). */
  inFile: boolean;
  seeds: string[];
  clusterToken: string | undefined;
  logger: Logger;
  /** Aborted when the node is asked to stop: the wait ends, and the node never serves. */
  signal: AbortSignal;
}

/** How long `--join` waits for the seed to order the join (see joinThrough). */
const JOIN_DEADLINE_MS = 60_000;
/** Waits between attempts while this node cannot be admitted: doubling up to the last. */
const RETRY_MS = { first: 1000, max: 30_000 };
/** How often a node that is on the ring looks again whether its own ring agrees with the cluster's. */
const AGREE_POLL_MS = 500;

/**
 * Makes sure this node is on the cluster's ring before it says SERVING, joining it when not. The ring
 * a running cluster uses is not the file's: joins and leaves change it, and a file changed since the
 * cluster started does not (epoch 1 is each node's own file, never merged). So the node asks the
 * members it knows for theirs (the newest answer wins) and:
 * - on it, at this address, with its own ring the same (catch-up adopted it): serves;
 * - not on it (a node added to the file, a pod beyond the ConfigMap's, or one that left earlier and
 *   was started again): joins through the member that answered, then serves;
 * - no member answers: a node of the file starts on the file's ring (the cluster's first start: the
 *   others come up after it); one the file does not list cannot join yet and keeps trying.
 * Whatever keeps it out (a refused join, no majority, its id on the ring at another address, a file
 * whose ring disagrees with the cluster's) is logged as an error, health stays NOT_SERVING (so the
 * readiness probe and `ringcache status` show it), and it tries again, up to every 30 s, until it
 * is stopped. Never throws.
 */
export async function admit(opts: AdmitOptions): Promise<void> {
  const { logger, signal } = opts;
  const log = logger.child({ component: 'admission' });
  let waitMs = RETRY_MS.first;
  let lastProblem = '';
  const problem = (what: string, fields: Record<string, unknown>) => {
    // Said once per distinct problem, not on every retry: the log stays readable while it waits.
    if (what + JSON.stringify(fields) !== lastProblem)
      log.error({ ...fields, retryInMs: waitMs }, `${what}: not serving until this is resolved`);
    lastProblem = what + JSON.stringify(fields);
  };
  while (!signal.aborted) {
    const outcome = await step(opts).catch((err: unknown) => ({
      problem: 'could not check the ring',
      fields: { err: err instanceof Error ? err.message : String(err) },
    }));
    if (outcome === 'admitted') {
      if (lastProblem) log.warn('on the cluster ring now: serving');
      return;
    }
    if (outcome === 'retry-soon') {
      await sleep(AGREE_POLL_MS, undefined, { signal }).catch(() => undefined);
      continue;
    }
    problem(outcome.problem, outcome.fields);
    await sleep(waitMs, undefined, { signal }).catch(() => undefined);
    waitMs = Math.min(RETRY_MS.max, waitMs * 2);
  }
}

type Step = 'admitted' | 'retry-soon' | { problem: string; fields: Record<string, unknown> };

async function step(opts: AdmitOptions): Promise<Step> {
  const { node, logger } = opts;
  const answers = await clusterRings(opts);
  const own = node.topology;
  const ownIds = [...own.ring.nodeIds].sort();
  if (answers.length === 0) {
    if (opts.inFile) {
      logger.info({ asked: opts.seeds }, 'no other member answers: starting on the ring of cluster.yml');
      return 'admitted';
    }
    return {
      problem: 'not on the ring, and no member of the cluster answers to join through',
      fields: { asked: opts.seeds },
    };
  }
  const newest = answers.reduce((a, b) => (b.ring.epoch > a.ring.epoch ? b : a));
  const ring = newest.ring;
  const ids = ring.members.map((m) => m.id).sort();
  const me = ring.members.find((m) => m.id === node.id);
  // The members asked lag behind this node (its catch-up learnt a newer ring elsewhere).
  if (own.epoch > ring.epoch) return own.ring.nodeIds.includes(node.id) ? 'admitted' : 'retry-soon';
  if (!me) {
    const how = await joinThrough(newest.seed, node, opts.clusterToken);
    logger.info(
      { seed: newest.seed, how, departedBefore: ring.departed.some((d) => d.id === node.id) },
      how === 'joined' ? 'joined the ring' : 'already on the ring',
    );
    // Served once this node's own ring has the join too (the seed sends it the new epoch).
    return 'retry-soon';
  }
  if (me.address !== node.self.address || me.httpAddress !== node.self.http) {
    return {
      problem: `the ring holds node '${node.id}' at another address; 'ringcache leave ${node.id}' removes that one, then this node joins`,
      fields: {
        ring: { address: me.address, http: me.httpAddress },
        self: { address: node.self.address, http: node.self.http },
      },
    };
  }
  if (own.epoch === ring.epoch && ids.join() === ownIds.join()) return 'admitted';
  if (own.epoch < ring.epoch) return 'retry-soon'; // the newer ring is on its way to this node
  return {
    problem:
      "this node's cluster.yml does not match the ring the running cluster uses; a changed file does not change a running ring: start a new node to add it (it joins), remove one with 'ringcache leave'",
    fields: { cluster: { epoch: ring.epoch, members: ids }, own: { epoch: own.epoch, members: ownIds } },
  };
}

/** Every seed's ring, asked at once; those that do not answer are left out. */
async function clusterRings(opts: AdmitOptions): Promise<{ seed: string; ring: TopologyResponseMsg }[]> {
  const asked = await Promise.all(
    opts.seeds.map(async (seed) => {
      const c = new UnaryClient(seed, 3000, opts.clusterToken, opts.node.clientTls);
      try {
        return { seed, ring: await c.cluster<TopologyResponseMsg>('Topology', {}) };
      } catch {
        return undefined; // down, not started yet, or not resolvable yet (a pod's DNS name)
      } finally {
        c.close();
      }
    }),
  );
  return asked.filter((a) => a !== undefined);
}

/**
 * Joins through `seed`, or, when the ring already holds this node at this address, does nothing:
 * a restart of a node that joined earlier, or a join that went through while its answer was lost.
 */
export async function joinThrough(
  seed: string,
  node: CacheNode,
  clusterToken: string | undefined,
): Promise<'joined' | 'rejoined'> {
  const client = new UnaryClient(seed, 5000, clusterToken, node.clientTls);
  // A join's own deadline covers the seed's worst case: each attempt waits up to 3 s for the
  // proposals and up to three sendings of 3 s for the members' acknowledgements (fewer once a
  // majority has it), and one that loses to a concurrent change
  // is ordered again, up to five times. With 5 s, a busy seed applied the join after its caller had
  // given up, leaving a ring member with no process.
  const joiner = new UnaryClient(seed, JOIN_DEADLINE_MS, clusterToken, node.clientTls);
  const inRing = async () => {
    const topology = await client.cluster<TopologyResponseMsg>('Topology', {});
    const me = topology.members.find((m) => m.id === node.id);
    return me !== undefined && me.address === node.self.address && me.httpAddress === node.self.http;
  };
  try {
    if (await inRing()) return 'rejoined';
    try {
      await joiner.cluster('Join', { id: node.id, address: node.self.address, httpAddress: node.self.http });
    } catch (err) {
      // The answer may be lost while the join itself went through: the ring says which.
      if (await inRing().catch(() => false)) return 'joined';
      const e = err as { details?: string; message?: string };
      throw new Error(e.details ?? e.message ?? String(err));
    }
    return 'joined';
  } finally {
    client.close();
    joiner.close();
  }
}
