import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type http from 'node:http';
import { NodeCore } from '../cluster/node-core';
import type { Topology } from '../cluster/ring-change/topology';
import type { ClusterConfig, NodeConfig } from '../config/types';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import { loadServices, withRawPayloads } from '../proto/load';
import type { StatsResponseMsg } from '../proto/messages';
import { guardRequests, withStrictRequests } from '../proto/strict-decode';
import type { Store } from '../store/store';
import { cacheService } from './cache-service';
import { clusterService } from './cluster-service';
import { GrpcPeerTransport } from './grpc-peer-transport';
import { MemoryGuard, rssTargetOf } from './memory-guard';
import { watchService } from './watch-service';
import { registerScanGauges, SCAN_STEP_ENTRIES, ScanWalks, scanHandler } from './key-scan';
import { wireVersionInterceptor } from '../transport/wire-version';
import { grpcServerOptions, registerStreamGauges, requestBytesInterceptor } from './request-limits';
import { ConnectionAdmission } from './connection-admission';
import { nodeTracerFromEnv, type NodeTracer } from '../observability/tracing';
import { startHttp } from './http';
import { nodeMetrics } from './node-metrics';
import { AccessControl, nodeOnly, REQUIREMENTS, withAccessChecks, type Requirement } from './access';
import { isForwarded, requireClusterToken } from './cluster-token-guard';
import { checkProtected } from './protected-mode';
import { NodeTls, nodeTlsFiles } from './node-tls';
import type { TlsOptions } from '../transport/tls';
import { peerService, type ReplicationCounters } from './peer-service';
import type { PipelineStreams } from './pipeline';
import { addReflection, PUBLIC_SERVICES } from './reflection';
import { HotKeys } from '../observability/hot-keys';
import { withHotKeySampling } from './hot-key-sampling';
import { nodeDashboard } from './dashboard/node-dashboard';
import type { DashboardFeed } from './dashboard/feed';

export interface NodeOptions {
  config: ClusterConfig;
  nodeId: string;
  logger: Logger;
  /** How long SIGTERM waits for in-flight calls before cancelling them. Default 3000 ms. */
  drainTimeoutMs?: number;
  /**
   * The cluster secret (RINGCACHE_CLUSTER_TOKEN or RINGCACHE_CLUSTER_TOKEN_FILE). When set, the Peer
   * service, Cluster.Join, Leave and Flush refuse calls without it (UNAUTHENTICATED), and this node
   * sends it on its own calls to peers. The Cache service and the read-only Cluster calls stay open
   * to SDK clients. Required when the node listens on an address the network can reach.
   */
  clusterToken?: string;
  /**
   * Runs once the node has caught up, before it says SERVING: the CLI checks there that this node is
   * on the cluster's ring, and joins it when not (cli/join.ts). Until it resolves, health says
   * NOT_SERVING. It should resolve when stop() is called (the node then never serves).
   */
  admit?: () => Promise<void>;
}

const HEALTH_SERVICES = ['', ...PUBLIC_SERVICES.filter((s) => s.startsWith('ringcache.'))];

/** How often a node with TLS looks whether its certificate files changed (a stat of three files). */
const TLS_FILES_CHECK_MS = 5000;
/** How often a serving node looks whether it has left the ring and handed its keys over. */
const LEFT_CHECK_MS = 500;

/**
 * One ringcache node at the gRPC edge: the node's core (store, membership, coordinator, hints, ring
 * changes; src/cluster/node-core.ts) over a gRPC PeerTransport, and the gRPC (Cache, Cluster, Peer,
 * health, reflection) and HTTP (/metrics, /healthz) servers. `stop()` undoes `start()` in reverse order.
 */
export class CacheNode {
  readonly id: string;
  readonly self: NodeConfig;
  readonly core: NodeCore;
  readonly #config: ClusterConfig;
  readonly #log: Logger;
  readonly #grpc: grpc.Server;
  readonly #health = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])),
  );
  readonly #drainTimeoutMs: number;
  readonly #admit: (() => Promise<void>) | undefined;
  /** This node's certificates, when the cluster has a tls section. */
  readonly #tls: NodeTls | undefined;
  #tlsFilesCheck: NodeJS.Timeout | undefined;
  #leftCheck: NodeJS.Timeout | undefined;
  #wasOnRing = false;
  #leftAtEpoch: number | undefined;
  #peers: GrpcPeerTransport | undefined;
  #http: http.Server | undefined;
  #serving = false;
  #stopping: Promise<void> | undefined;
  #endWatches: () => void = () => undefined;
  #endChangeWatches: () => void = () => undefined;
  #watch: ReturnType<typeof watchService> | undefined;
  #connections: ConnectionAdmission | undefined;
  /** Spans to an OTLP collector when the environment names one (observability/tracing.ts). */
  readonly #tracer: NodeTracer | undefined;
  #endPeerStreams: () => void = () => undefined;
  #pipelines: PipelineStreams | undefined;
  #replicated: ReplicationCounters | undefined;
  readonly #clusterToken: string | undefined;
  #drainPipelines: () => Promise<void> = () => Promise.resolve();
  readonly #memoryGuard: MemoryGuard;
  /** The keys clients read and write most on this node (Stats, `status --hot`, the dashboard). */
  readonly #hotKeys = new HotKeys();
  /** Where Scan pages take their turns (key-scan.ts). */
  readonly #scanWalks = new ScanWalks();
  #dashboard: { feed: DashboardFeed; handler: Parameters<typeof startHttp>[0]['dashboard'] } | undefined;

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
    this.#grpc = new grpc.Server({
      ...grpcServerOptions(opts.config.limits),
      // A call on a connection refused for max_connections is answered first; then every caller's
      // wire version is checked once per call, before any service reads it.
      interceptors: [
        // (set before the server binds; a call cannot come sooner)
        (method, call) => this.#connections?.intercept(method, call) ?? new grpc.ServerInterceptingCall(call),
        wireVersionInterceptor({
          selfName: `node ${self.id}`,
          onRefused: (_caller, peer, reason) =>
            this.#log.warn({ peer, reason }, 'refused a caller of an incompatible release'),
        }),
        requestBytesInterceptor(
          opts.config.limits.maxRequestBytes,
          (metadata) => isForwarded(metadata, this.#clusterToken),
          (refusal) => this.#pipelines?.refusals.note(refusal),
          () => this.#pipelines?.requestReads,
        ),
      ],
    });
    this.#clusterToken = opts.clusterToken || undefined;
    checkProtected(self, this.#clusterToken, opts.config.tls?.clientAuth === 'require');
    this.#log = opts.logger.child({ node: self.id });
    this.#drainTimeoutMs = opts.drainTimeoutMs ?? 3000;
    this.#admit = opts.admit;
    const clusterToken = this.#clusterToken;
    // RSS within 1.3 x max_memory (more for small stores: the process's own part): memory-guard.ts.
    const maxMemory = opts.config.limits.maxMemoryBytes;
    this.#memoryGuard = new MemoryGuard({
      targetBytes: rssTargetOf(maxMemory),
      maxMemoryBytes: maxMemory,
      storeFootprintBytes: () => this.core.store.footprintBytes,
      clientBytes: () =>
        this.#pipelines ? this.#pipelines.input.heldBytes + this.#pipelines.output.bytes : 0,
      clientOverheadBytes: () => this.#pipelines?.excessOverheadBytes ?? 0,
      clientBudgetBytes: opts.config.limits.maxClientInputBytes + opts.config.limits.maxClientOutputBytes,
      refusedBytes: () => this.#pipelines?.refusals.refusedBytes ?? 0,
      largeInputBytes: () => this.#pipelines?.requestReads.bytesReadInPieces ?? 0,
      connectionsOpen: () => this.#connections?.open ?? 0,
      streamsHeld: () =>
        (this.#pipelines?.requestReads.streamsHeld ?? 0) + (this.#connections?.streamsWaiting ?? 0),
      setPressure: (bytes) => this.core.store.setMemoryPressure(bytes),
      maxPressureBytes: maxMemory / 2,
      logger: this.#log,
    });
    const tracer = nodeTracerFromEnv(process.env, self.id, this.#log);
    this.#tracer = tracer;
    const tlsFiles = nodeTlsFiles(opts.config, self);
    const tls = tlsFiles && new NodeTls(tlsFiles);
    this.#tls = tls;
    this.core = new NodeCore({
      config: opts.config,
      nodeId: self.id,
      logger: this.#log,
      transport: (core) =>
        (this.#peers = new GrpcPeerTransport({
          selfId: self.id,
          addressOf: (id) => core.addressOf(id),
          clusterToken,
          tracer,
          tls: tls?.client,
        })),
    });
  }

  /** What this node presents to its peers (and to a seed it joins through); undefined without TLS. */
  get clientTls(): TlsOptions | undefined {
    return this.#tls?.client;
  }

  /**
   * Reads the TLS files again (certificate rotation, on SIGHUP or when the files change): new handshakes, to this node and from
   * it to its peers, use the new certificate; connections already open keep theirs. A file that
   * cannot be read or used leaves the old ones in place, and is logged. False without TLS.
   */
  reloadTls(): boolean {
    if (!this.#tls) return false;
    try {
      this.#tls.reload();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'TLS files not reloaded; the old ones stay in use');
      return false;
    }
    this.#peers?.setTls(this.#tls.client);
    this.#log.info('TLS files reloaded');
    return true;
  }

  get store(): Store {
    return this.core.store;
  }

  get topology(): Topology {
    return this.core.topology;
  }

  get serving(): boolean {
    return this.#serving;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const core = this.core;
    this.#addServices();
    await this.#bind();
    if (!this.#connections?.attach(this.#grpc))
      this.#log.warn('limits.max_connections not applied: grpc-js holds its listeners elsewhere');
    this.#memoryGuard.start();
    // Rotation without a signal: new TLS files are taken within TLS_FILES_CHECK_MS of appearing.
    const tls = this.#tls;
    if (tls) {
      this.#tlsFilesCheck = setInterval(() => tls.filesChanged() && this.reloadTls(), TLS_FILES_CHECK_MS);
      this.#tlsFilesCheck.unref();
    }
    const registry = nodeMetrics(this.id, {
      store: core.store,
      hints: core.hints,
      coordinator: core.coordinator,
      handoff: core.handoff,
      pipelines: () => this.#pipelines,
      replicated: () => this.#replicated,
      rebalance: () => core.rebalance,
      antiEntropy: core.antiEntropy,
      memoryGuard: this.#memoryGuard,
      catchUp: () => core.catchUp,
      ringUnconfirmed: () => core.view.ringUnconfirmed(),
      owedPeers: () => core.owedPeers,
      clock: core.clock,
    });
    registerScanGauges(registry, this.#scanWalks);
    registerStreamGauges(registry, {
      watchers: () => this.#watch?.watchers ?? 0,
      bufferedBytes: () => ({
        watch: this.#watch?.bufferedBytes ?? 0,
        pipeline: this.#pipelines?.bufferedBytes ?? 0,
      }),
      connections: () => this.#connections?.open ?? 0,
      pipelines: () => this.#pipelines?.openStreams ?? 0,
      readsWaiting: () => this.#pipelines?.requestReads.waiting ?? 0,
      streamsWaiting: () => this.#connections?.streamsWaiting ?? 0,
    });
    if (this.#peers) registry.registerMetric(this.#peers.frameDurations.asMetric());
    this.#http = await startHttp({
      host: this.self.httpListen?.host ?? this.self.httpHost,
      port: this.self.httpListen?.port ?? this.self.httpPort,
      registry,
      serving: () => this.#serving && core.clock.inBounds,
      logger: this.#log,
      dashboard: this.#dashboard?.handler,
    }).catch((err: NodeJS.ErrnoException) => {
      throw new RingCacheError(
        'UNAVAILABLE',
        `node ${this.id}: cannot listen on http ${this.self.http}: ${err.code ?? err.message}`,
      );
    });
    core.start();
    this.#dashboard?.feed.start();
    // The Cache service answers from here on (a catching-up node reads through its peers), but health
    // says SERVING only once this node holds what its peers hold for it.
    this.#log.info({ address: this.self.address, http: this.self.http }, 'node catching up');
    await core.caughtUp();
    if (this.#stopping) return;
    await this.#admit?.();
    if (this.#stopping) return;
    this.#serving = true;
    // A node whose clock is too far from the others' refuses writes (cluster/membership/clock-watch.ts),
    // so it tells load balancers not to send it traffic meanwhile.
    const publishHealth = (): void => {
      if (!this.#serving) return;
      const status = core.clock.inBounds ? 'SERVING' : 'NOT_SERVING';
      for (const s of HEALTH_SERVICES) this.#health.setStatus(s, status);
    };
    core.clock.onChange(publishHealth);
    publishHealth();
    this.#log.info(
      { address: this.self.address, http: this.self.http, nodes: config.nodes.length, catchUp: core.catchUp },
      'node serving',
    );
    this.#leftCheck = setInterval(() => this.#checkLeft(), LEFT_CHECK_MS);
    this.#leftCheck.unref();
  }

  /**
   * Once this node is no longer on the ring (a leave) and its last rebalance has handed its keys to
   * their new replicas, it stops serving: health says NOT_SERVING, so `ringcache leave` (and a
   * load balancer) know it can be stopped. A node never on the ring yet (joining) is left alone.
   */
  #checkLeft(): void {
    const onRing = this.core.topology.ring.nodeIds.includes(this.id);
    if (onRing) {
      this.#wasOnRing = true;
      return;
    }
    if (!this.#wasOnRing || !this.#serving) return;
    // The rebalance of the ring without this node: not an earlier one that happens to be done.
    this.#leftAtEpoch ??= this.core.topology.epoch;
    const rebalance = this.core.rebalance;
    if (!rebalance || rebalance.epoch < this.#leftAtEpoch || !rebalance.done) return;
    this.#serving = false;
    for (const s of HEALTH_SERVICES) this.#health.setStatus(s, 'NOT_SERVING');
    clearInterval(this.#leftCheck);
    this.#log.info({ rebalance }, 'left the ring and handed its keys over: not serving; it can be stopped');
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
    this.core.leaveGossip();
    // Streams waiting to start would start after the streams below are ended, and hold the stop.
    this.#connections?.drain();
    await this.#drainPipelines();
    this.#endWatches();
    this.#endChangeWatches();
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
    await this.core.stop();
    this.#memoryGuard.stop();
    clearInterval(this.#tlsFilesCheck);
    clearInterval(this.#leftCheck);
    this.#dashboard?.feed.stop(); // its event streams would hold the HTTP server open
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#log.info('node stopped');
  }

  #addServices(): void {
    const services = loadServices();
    const core = this.core;
    const defaultTimeoutMs = 5000;
    const cache = cacheService({
      tracer: this.#tracer,
      executor: withHotKeySampling(core, this.#hotKeys),
      epoch: () => core.topology.epoch,
      logger: this.#log,
      defaultTimeoutMs,
      limits: this.#config.limits,
      clusterToken: this.#clusterToken,
      copies: core.copiesInFlight,
      onRequest: () => this.#memoryGuard.nudge(),
    });
    this.#pipelines = cache.pipelines;
    const watch = watchService({
      selfId: this.id,
      listen: (listener) => core.store.changes.listen(listener),
      maxKeyBytes: this.#config.limits.maxKeyBytes,
      maxOutputBufferBytes: this.#config.limits.maxOutputBufferBytes,
      maxWatchers: this.#config.limits.maxWatchers,
      logger: this.#log.child({ component: 'watch' }),
      refusals: cache.pipelines.refusals,
      output: cache.pipelines.output,
    });
    this.#watch = watch;
    const { maxConnections, idleTimeoutMs, maxClientCalls, maxClientInputBytes } = this.#config.limits;
    this.#connections = new ConnectionAdmission(
      maxConnections,
      idleTimeoutMs,
      cache.pipelines.refusals,
      this.#clusterToken,
      maxClientCalls,
      maxClientInputBytes,
    );
    cache.handlers.Watch = watch.Watch;
    cache.handlers.Scan = scanHandler({
      keyPageSteps: (prefix, after, count) =>
        core.store.keyPageSteps(prefix, after, count, SCAN_STEP_ENTRIES),
      walks: this.#scanWalks,
      catchingUp: () => core.catchingUp,
      maxKeyBytes: this.#config.limits.maxKeyBytes,
      logger: this.#log,
    });
    this.#endChangeWatches = watch.endWatches;
    this.#drainPipelines = () => cache.pipelines.drain();
    const cluster = clusterService({
      selfId: this.id,
      clusterName: this.#config.name,
      topology: core.topology,
      replication: this.#config.replication,
      logger: this.#log,
      stats: () => ({ ...core.store.stats(), hintsPending: core.hints.count }),
      hotKeys: () => this.#hotKeys.snapshot(),
      requests: () => this.#pipelines?.requests.totals() ?? { count: 0, buckets: [] },
      catchingUp: () => core.catchingUp,
      join: (member) => core.join(member),
      leave: (id) => core.leave(id),
      explain: (key, deadlineMs) => core.explain(key, deadlineMs),
      flushCluster: (prefix) => core.flushCluster(prefix),
    });
    this.#endWatches = cluster.endWatches;
    // Every request is decoded strictly: a malformed one is the caller's INVALID_ARGUMENT.
    const strict = (
      service: grpc.ServiceDefinition,
      name: string,
      handlers: grpc.UntypedServiceImplementation,
    ): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] => {
      const definition = withStrictRequests(service, name);
      return [definition, guardRequests(definition, handlers, name)];
    };
    // Batches past limits.max_batch_keys are counted before the strict decode, and refused undecoded.
    const [cacheDefinition, cacheHandlers] = strict(
      withRawPayloads(services.Cache.service, ['PipelinePacked']),
      'ringcache.v1.Cache',
      cache.handlers,
    );
    // With users (cluster.yml `auth`), every method checks its caller's role (access.ts); without,
    // the Cache service and the Cluster service's reads are open, and membership and flush need the
    // cluster token. Either way the caller is checked before its request is looked at.
    const auth = this.#config.auth;
    const clientAuth = this.#config.tls?.clientAuth;
    const nodeTls = this.#tls;
    const access =
      auth &&
      new AccessControl(auth, this.#clusterToken, {
        mutualTls: clientAuth === 'require',
        ...(clientAuth === 'optional' && nodeTls && { signedByCa: (raw: Buffer) => nodeTls.signedByCa(raw) }),
      });
    this.#dashboard = nodeDashboard({
      selfId: this.id,
      core,
      hotKeys: this.#hotKeys,
      requests: () => this.#pipelines?.requests,
      peerStats: (id, deadlineMs) => {
        const peers = this.#peers;
        if (!peers) return Promise.reject(new Error('no peer connections yet'));
        const method = services.Cluster.service.Stats as grpc.MethodDefinition<object, StatsResponseMsg>;
        return peers.unaryTo(id, method, {}, deadlineMs);
      },
      access: access || undefined,
      ...(!auth &&
        clientAuth === 'require' &&
        !isLoopback(this.self.httpListen?.host ?? this.self.httpHost) && {
          closedWithoutAuth: {
            status: 403,
            message:
              "this node's gRPC port takes only clients with a certificate, which plain HTTP cannot check: add a user with role read under auth in cluster.yml to open the dashboard's data",
          },
        }),
    });
    const checked = (
      definition: grpc.ServiceDefinition,
      handlers: grpc.UntypedServiceImplementation,
      requirements: Record<string, Requirement>,
      withoutUsers: grpc.UntypedServiceImplementation,
    ) => (access ? withAccessChecks(definition, handlers, access, requirements) : withoutUsers);
    this.#grpc.addService(
      cache.withBatchBounds(cacheDefinition),
      checked(cacheDefinition, cacheHandlers, REQUIREMENTS.Cache!, cacheHandlers),
    );
    const [clusterDefinition, clusterHandlers] = strict(
      services.Cluster.service,
      'ringcache.v1.Cluster',
      cluster.handlers,
    );
    this.#grpc.addService(
      clusterDefinition,
      checked(
        clusterDefinition,
        clusterHandlers,
        REQUIREMENTS.Cluster!,
        requireClusterToken(clusterDefinition, clusterHandlers, this.#clusterToken, [
          'Join',
          'Leave',
          'Flush',
        ]),
      ),
    );
    const peer = peerService({
      selfId: this.id,
      endpoint: core.peers,
      logger: this.#log.child({ component: 'peer' }),
      onRequest: () => this.#memoryGuard.nudge(),
    });
    this.#endPeerStreams = peer.endStreams;
    this.#replicated = peer.replicated;
    const [peerDefinition, peerHandlers] = strict(
      withRawPayloads(services.Peer.service, ['Replicate', 'Read', 'Compare']),
      'ringcache.v1.Peer',
      peer.handlers,
    );
    this.#grpc.addService(
      peerDefinition,
      checked(
        peerDefinition,
        peerHandlers,
        nodeOnly(peerDefinition),
        requireClusterToken(peerDefinition, peerHandlers, this.#clusterToken),
      ),
    );
    this.#health.addToServer(this.#grpc);
    if (this.#config.reflection !== false) addReflection(this.#grpc);
  }
  async #bind(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const bind = this.self.listen?.text ?? this.self.address;
      const credentials = this.#tls?.server ?? grpc.ServerCredentials.createInsecure();
      this.#grpc.bindAsync(bind, credentials, (err) => {
        if (!err) return resolve();
        const inUse = /EADDRINUSE|address already in use/i.test(err.message);
        reject(
          new RingCacheError(
            'UNAVAILABLE',
            inUse
              ? `node ${this.id}: port ${this.self.listen?.port ?? this.self.port} on ${this.self.listen?.host ?? this.self.host} is already in use (another ringcache node or program?); free it or change nodes[].${this.self.listen ? 'listen' : 'address'} in ${this.#config.source}`
              : `node ${this.id}: cannot listen on ${bind}: ${err.message}`,
            { cause: err },
          ),
        );
      });
    });
  }
}

/** Whether an address only this machine reaches: 127.0.0.0/8, ::1 or localhost. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
