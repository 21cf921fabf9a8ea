import type { RingMember, Topology, TopologySnapshot } from '../cluster/ring-change/topology';
import type { Logger } from '../observability/logger';
import { toStatus } from './status';
import type * as grpc from '@grpc/grpc-js';
import { memberStateToWire } from './gossip-wire';
import type { ReplicationSettings } from '../cluster/replication/quorum';
import { cut } from '../store/validation';
import {
  Code,
  type ExplainResponseMsg,
  type FlushRequestMsg,
  type FlushResponseMsg,
  type HotKeyMsg,
  type JoinRequestMsg,
  type StatsResponseMsg,
  type TopologyResponseMsg,
} from '../proto/messages';
import type { KeyExplanation } from '../cluster/explain';
import { LATENCY_BOUNDS_SECONDS } from '../observability/request-metrics';

type RequestFigures = 'requests' | 'requestDurationCounts' | 'requestDurationBoundsSeconds' | 'rssBytes';

export interface ClusterServiceDeps {
  selfId: string;
  clusterName: string;
  topology: Topology;
  replication: ReplicationSettings;
  logger: Logger;
  stats(): Omit<StatsResponseMsg, 'nodeId' | 'epoch' | 'hotReads' | 'hotWrites' | RequestFigures>;
  /** This node's most-read and most-written keys, hottest first (none when not sampled). */
  hotKeys?(): { reads: HotKeyMsg[]; writes: HotKeyMsg[] };
  /**
   * The Cache calls answered since the start: how many, and per bucket of `LATENCY_BOUNDS_SECONDS`
   * (the last bucket above them): RequestMetrics.totals(). None while the node serves no Cache call.
   */
  requests?(): { count: number; buckets: number[] };
  /** Whether this node is still catching up after its start. */
  catchingUp(): boolean;
  join(member: RingMember): Promise<void>;
  leave(id: string): Promise<void>;
  explain(key: string, deadlineMs: number): Promise<KeyExplanation>;
  flushCluster(prefix: string): Promise<{ deleted: number; nodes: string[] }>;
}

/** The ringcache.v1.Cluster handlers. Watch streams are tracked so shutdown can end them. */
export function clusterService(deps: ClusterServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  endWatches: () => void;
} {
  const watches = new Set<grpc.ServerWritableStream<unknown, TopologyResponseMsg>>();
  const toMessage = (snap: TopologySnapshot): TopologyResponseMsg => ({
    clusterName: deps.clusterName,
    epoch: snap.epoch,
    members: snap.members.map((m) => ({
      id: m.id,
      address: m.address,
      httpAddress: m.http,
      state: memberStateToWire[m.state],
      incarnation: m.incarnation,
      sinceEpoch: m.since,
    })),
    departed: snap.departed.map((d) => ({ id: d.id, epoch: d.since })),
    vnodes: deps.topology.vnodes,
    hashAlgorithm: 'md5',
    replication: { ...deps.replication },
    answeredBy: deps.selfId,
    catchingUp: deps.catchingUp(),
  });
  const handlers: grpc.UntypedServiceImplementation = {
    Topology: (
      _call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<TopologyResponseMsg>,
    ) => {
      callback(null, toMessage(deps.topology.snapshot()));
    },
    WatchTopology: (call: grpc.ServerWritableStream<unknown, TopologyResponseMsg>) => {
      watches.add(call);
      call.write(toMessage(deps.topology.snapshot()));
      const unsubscribe = deps.topology.onChange((snap) => call.write(toMessage(snap)));
      const stop = () => {
        unsubscribe();
        watches.delete(call);
      };
      call.on('cancelled', stop);
      call.on('error', stop);
      call.on('close', stop);
    },
    Join: (
      call: grpc.ServerUnaryCall<JoinRequestMsg, unknown>,
      callback: grpc.sendUnaryData<TopologyResponseMsg>,
    ) => {
      const { id, address, httpAddress } = call.request;
      deps.join({ id, address, http: httpAddress }).then(
        () => callback(null, toMessage(deps.topology.snapshot())),
        (err: unknown) => callback(toStatus(err, deps.logger)),
      );
    },
    Leave: (
      call: grpc.ServerUnaryCall<{ id: string }, unknown>,
      callback: grpc.sendUnaryData<TopologyResponseMsg>,
    ) => {
      deps.leave(call.request.id).then(
        () => callback(null, toMessage(deps.topology.snapshot())),
        (err: unknown) => callback(toStatus(err, deps.logger)),
      );
    },
    Flush: (
      call: grpc.ServerUnaryCall<FlushRequestMsg, unknown>,
      callback: grpc.sendUnaryData<FlushResponseMsg>,
    ) => {
      const { prefix, confirm } = call.request;
      if (!confirm) {
        return callback({
          code: Code.FAILED_PRECONDITION,
          details: `flush deletes every key${prefix ? ` starting with '${cut(prefix)}'` : ''} on every node and cannot be undone; set confirm to true (ringcache flush --yes)`,
        });
      }
      deps.flushCluster(prefix).then(
        ({ deleted, nodes }) => callback(null, { keysDeleted: deleted, nodes }),
        (err: unknown) => callback(toStatus(err, deps.logger)),
      );
    },
    Explain: (
      call: grpc.ServerUnaryCall<{ key: string }, unknown>,
      callback: grpc.sendUnaryData<ExplainResponseMsg>,
    ) => {
      const deadline = call.getDeadline();
      const deadlineMs =
        deadline instanceof Date
          ? deadline.getTime()
          : Number.isFinite(deadline)
            ? Number(deadline)
            : Date.now() + 3000;
      deps.explain(call.request.key, Math.min(deadlineMs, Date.now() + 3000)).then(
        (e) =>
          callback(null, {
            key: e.key,
            ringPosition: e.position,
            epoch: e.epoch,
            answeredBy: deps.selfId,
            replicas: e.replicas.map((r) => ({
              nodeId: r.id,
              address: r.address,
              state: memberStateToWire[r.state],
              holds: r.record !== undefined,
              version: r.record
                ? { timestamp: r.record.version.timestamp, node: r.record.version.node }
                : null,
              tombstone: r.record?.tombstone ?? false,
              expiresAtMs: r.record?.expiresAtMs ?? 0,
              error: r.error ?? '',
            })),
          }),
        (err: unknown) => callback(toStatus(err, deps.logger)),
      );
    },
    Stats: (
      _call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<StatsResponseMsg>,
    ) => {
      const hot = deps.hotKeys?.() ?? { reads: [], writes: [] };
      const requests = deps.requests?.() ?? { count: 0, buckets: [] };
      callback(null, {
        ...deps.stats(),
        nodeId: deps.selfId,
        epoch: deps.topology.epoch,
        hotReads: hot.reads,
        hotWrites: hot.writes,
        requests: requests.count,
        requestDurationCounts: requests.buckets,
        requestDurationBoundsSeconds: requests.buckets.length > 0 ? [...LATENCY_BOUNDS_SECONDS] : [],
        rssBytes: process.memoryUsage.rss(),
      });
    },
  };
  return {
    handlers,
    endWatches: () => {
      for (const w of watches) w.end();
      watches.clear();
    },
  };
}
