import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type http from 'node:http';
import { catchUpFromPeers } from '../cluster/catch-up';
import type { ClusterView } from '../cluster/cluster-view';
import { Coordinator } from '../cluster/coordinator';
import { GrpcGossipTransport } from '../cluster/gossip-transport';
import { HintedHandoff } from '../cluster/handoff';
import { HintStore } from '../cluster/hints';
import { Membership } from '../cluster/membership/membership';
import { PeerClient } from '../cluster/peer-client';
import { RingChanges } from '../cluster/ring-changes';
import { Topology } from '../cluster/topology';
import type { ClusterConfig, NodeConfig } from '../config/types';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import { loadServices, withRawPayloads } from '../proto/load';
import { Store } from '../store/store';
import { systemClock } from '../store/hlc';
import { cacheService } from './cache-service';
import { clusterService } from './cluster-service';
import { startHttp } from './http';
import { nodeMetrics } from './node-metrics';
import { requireClusterToken } from './cluster-token-guard';
import { peerService, type ReplicationCounters } from './peer-service';
import type { PipelineStreams } from './pipeline';
import { addReflection, PUBLIC_SERVICES } from './reflection';

export interface NodeOptions {
  config: ClusterConfig;
  nodeId: string;
  logger: Logger;
  /** How long SIGTERM waits for in-flight calls before cancelling them. Default 3000 ms. */
  drainTimeoutMs?: number;
  /**
   * RINGCACHE_CLUSTER_TOKEN. When set, the Peer service, Cluster.Join and Cluster.Leave refuse calls
   * without it (UNAUTHENTICATED), and this node sends it on its own calls to peers. The Cache service
   * and the read-only Cluster calls stay open to SDK clients.
   */
  clusterToken?: string;
}

const HEALTH_SERVICES = ['', ...PUBLIC_SERVICES.filter((s) => s.startsWith('ringcache.'))];

/**
 * One ringcache node: the store, this node's view of the cluster, the coordinator, gossip, hinted
 * handoff, and the gRPC (Cache, Cluster, Peer, health, reflection) and HTTP (/metrics, /healthz)
 * servers. `stop()` undoes `start()` in reverse order.
 */
export class CacheNode {
  readonly id: string;
  readonly self: NodeConfig;
  readonly store: Store;
  readonly topology: Topology;
  readonly #config: ClusterConfig;
  readonly #log: Logger;
  readonly #grpc = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  readonly #health = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])),
  );
  readonly #peers = new Map<string, PeerClient>();
  readonly #hints: HintStore;
  readonly #handoff: HintedHandoff;
  readonly #coordinator: Coordinator;
  readonly #ringChanges: RingChanges;
  readonly #drainTimeoutMs: number;
  #membership: Membership | undefined;
  #http: http.Server | undefined;
  #serving = false;
  #stopping: Promise<void> | undefined;
  #endWatches: () => void = () => undefined;
  #endPeerStreams: () => void = () => undefined;
  #pipelines: PipelineStreams | undefined;
  #replicated: ReplicationCounters | undefined;
  readonly #clusterToken: string | undefined;
  #drainPipelines: () => Promise<void> = () => Promise.resolve();

  constructor(opts: NodeOptions) {
    const self = opts.config.nodes.find((n) => n.id === opts.nodeId);
    if (!self) {
      const known = opts.config.nodes.map((n) => n.id).join(', ');
      throw new RingCacheError(
        'CONFIG_INVALID',
        `node id '${opts.nodeId}' is not in ${opts.config.source} (known: ${known})`,
      );
    }
    this.id = self.id;
    this.self = self;
    this.#config = opts.config;
    this.#clusterToken = opts.clusterToken || undefined;
    this.#log = opts.logger.child({ node: self.id });
    this.#drainTimeoutMs = opts.drainTimeoutMs ?? 3000;
    const { limits, replication } = opts.config;
    this.store = new Store({
      nodeId: self.id,
      maxMemoryBytes: limits.maxMemoryBytes,
      maxKeyBytes: limits.maxKeyBytes,
      maxValueBytes: limits.maxValueBytes,
      tombstoneGraceMs: opts.config.tombstoneGraceMs,
    });
    this.topology = new Topology(
      opts.config.nodes,
      opts.config.vnodes,
      this.#log.child({ component: 'topology' }),
    );
    this.#hints = new HintStore(opts.config.hints);
    const view = this.#view();
    this.#handoff = new HintedHandoff({
      view,
      hints: this.#hints,
      logger: this.#log.child({ component: 'handoff' }),
    });
    this.#ringChanges = new RingChanges({
      topology: this.topology,
      view,
      store: this.store,
      factor: replication.factor,
      logger: this.#log.child({ component: 'rebalance' }),
      onAdopted: (members) => this.#membership?.setMembers(members.map((m) => m.id)),
    });
    this.#coordinator = new Coordinator({
      view,
      store: this.store,
      hints: this.#hints,
      replication,
      clock: systemClock,
      logger: this.#log.child({ component: 'coordinator' }),
      maxKeyBytes: limits.maxKeyBytes,
    });
  }

  get serving(): boolean {
    return this.#serving;
  }

  async start(): Promise<void> {
    const config = this.#config;
    this.store.start();
    this.#addServices();
    await this.#bind();
    this.#http = await startHttp({
      host: this.self.httpHost,
      port: this.self.httpPort,
      registry: nodeMetrics(this.id, {
        store: this.store,
        hints: this.#hints,
        coordinator: this.#coordinator,
        handoff: this.#handoff,
        pipelines: () => this.#pipelines,
        replicated: () => this.#replicated,
        rebalance: () => this.#ringChanges.progress,
      }),
      serving: () => this.#serving,
      logger: this.#log,
    }).catch((err: NodeJS.ErrnoException) => {
      throw new RingCacheError(
        'UNAVAILABLE',
        `node ${this.id}: cannot listen on http ${this.self.http}: ${err.code ?? err.message}`,
      );
    });
    this.#startGossip();
    this.#handoff.start();
    this.#serving = true;
    for (const s of HEALTH_SERVICES) this.#health.setStatus(s, 'SERVING');
    this.#log.info(
      { address: this.self.address, http: this.self.http, nodes: config.nodes.length },
      'node serving',
    );
    const others = config.nodes.filter((n) => n.id !== this.id).map((n) => n.id);
    if (config.replication.factor > 1 && others.length > 0) {
      void catchUpFromPeers(this.#view(), others, this.store, this.#log.child({ component: 'catch-up' }));
    }
  }

  /** Graceful: NOT_SERVING, leave gossip, answer what is in flight, end streams, close. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#log.info('node draining');
    this.#serving = false;
    for (const s of HEALTH_SERVICES) this.#health.setStatus(s, 'NOT_SERVING');
    this.#membership?.leave();
    await this.#drainPipelines();
    this.#endWatches();
    this.#endPeerStreams();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#log.warn(
          { afterMs: this.#drainTimeoutMs },
          'calls still open at drain timeout; cancelling them',
        );
        this.#grpc.forceShutdown();
        resolve();
      }, this.#drainTimeoutMs);
      force.unref();
      this.#grpc.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await this.#membership?.stop();
    await this.#handoff.stop();
    this.store.stop();
    for (const p of this.#peers.values()) p.close();
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#log.info('node stopped');
  }

  #view(): ClusterView {
    return {
      selfId: this.id,
      ring: () => this.topology.ring,
      epoch: () => this.topology.epoch,
      isAlive: (id) => id === this.id || this.topology.isAlive(id),
      peer: (id) => this.#peer(id),
    };
  }

  #peer(id: string): PeerClient {
    let p = this.#peers.get(id);
    if (!p) {
      const member = this.topology.member(id);
      if (!member) throw new RingCacheError('INTERNAL', `no member ${id}`);
      p = new PeerClient(this.id, id, member.address, this.#clusterToken);
      this.#peers.set(id, p);
    }
    return p;
  }

  #addServices(): void {
    const services = loadServices();
    const defaultTimeoutMs = 5000;
    const cache = cacheService({
      executor: this.#coordinator,
      epoch: () => this.topology.epoch,
      logger: this.#log,
      defaultTimeoutMs,
      maxBatch: 4096,
      clusterToken: this.#clusterToken,
    });
    this.#pipelines = cache.pipelines;
    this.#drainPipelines = () => cache.pipelines.drain();
    const cluster = clusterService({
      selfId: this.id,
      clusterName: this.#config.name,
      topology: this.topology,
      replication: this.#config.replication,
      logger: this.#log,
      stats: () => ({ ...this.store.stats(), hintsPending: this.#hints.count }),
      join: (member) => this.#ringChanges.join(member),
      leave: (id) => this.#ringChanges.leave(id),
    });
    this.#endWatches = cluster.endWatches;
    this.#grpc.addService(withRawPayloads(services.Cache.service, ['PipelinePacked']), cache.handlers);
    this.#grpc.addService(
      services.Cluster.service,
      requireClusterToken(services.Cluster.service, cluster.handlers, this.#clusterToken, ['Join', 'Leave']),
    );
    const peer = peerService({
      selfId: this.id,
      store: this.store,
      hints: this.#hints,
      topology: this.topology,
      replicationFactor: this.#config.replication.factor,
      membership: () => this.#membership,
      logger: this.#log.child({ component: 'peer' }),
      ring: {
        epoch: () => this.topology.epoch,
        onNewerEpoch: (peer, epoch) => this.#ringChanges.onNewerEpoch(peer, epoch),
        state: () => this.#ringChanges.state(),
        apply: (state) => void this.#ringChanges.apply(state),
      },
    });
    this.#endPeerStreams = peer.endStreams;
    this.#replicated = peer.replicated;
    const peerDefinition = withRawPayloads(services.Peer.service, ['Replicate', 'Read']);
    this.#grpc.addService(
      peerDefinition,
      requireClusterToken(peerDefinition, peer.handlers, this.#clusterToken),
    );
    this.#health.addToServer(this.#grpc);
    addReflection(this.#grpc);
  }

  async #bind(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#grpc.bindAsync(this.self.address, grpc.ServerCredentials.createInsecure(), (err) => {
        if (!err) return resolve();
        const inUse = /EADDRINUSE|address already in use/i.test(err.message);
        reject(
          new RingCacheError(
            'UNAVAILABLE',
            inUse
              ? `node ${this.id}: port ${this.self.port} on ${this.self.host} is already in use (another ringcache node or program?); free it or change nodes[].address in ${this.#config.source}`
              : `node ${this.id}: cannot listen on ${this.self.address}: ${err.message}`,
            { cause: err },
          ),
        );
      });
    });
  }

  #startGossip(): void {
    const { gossip } = this.#config;
    const memberIds = this.#config.nodes.map((n) => n.id);
    if (memberIds.length < 2) return;
    this.#membership = new Membership({
      selfId: this.id,
      memberIds,
      config: gossip,
      transport: new GrpcGossipTransport(this.id, (id) => this.#peer(id), gossip.probeTimeoutMs, {
        epoch: () => this.topology.epoch,
        onNewerEpoch: (peer, epoch) => this.#ringChanges.onNewerEpoch(peer, epoch),
      }),
      logger: this.#log.child({ component: 'gossip' }),
      // A restarted node must out-bid the "dead" others hold about its previous life.
      initialIncarnation: Date.now(),
    });
    this.#membership.onChange((m, _from, to) => {
      this.topology.setState(m.id, to, m.incarnation);
      if (to === 'alive') this.#handoff.kick();
    });
    this.#membership.start();
  }
}
