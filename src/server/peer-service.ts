import type * as grpc from '@grpc/grpc-js';
import type { HintStore } from '../cluster/hints';
import type { Membership } from '../cluster/membership/membership';
import { updatesFromWire, updatesToWire, type RingEpochHooks } from '../cluster/gossip-transport';
import { msgToRecord, recordToMsg } from '../cluster/record-codec';
import type { Topology } from '../cluster/topology';
import type { Logger } from '../observability/logger';
import {
  Code,
  type PingReqRequestMsg,
  type PingRequestMsg,
  type PingResponseMsg,
  type ReadRequestMsg,
  type ReadResponseMsg,
  type RecordMsg,
  type RingStateMsg,
  type ReplicateRequestMsg,
  type ReplicateResponseMsg,
  type SyncRequestMsg,
  type SyncResponseMsg,
} from '../proto/messages';
import { toCodeAndMessage } from '../proto/status-codes';
import type { Store } from '../store/store';

export interface PeerServiceDeps {
  selfId: string;
  store: Store;
  hints: HintStore;
  topology: Topology;
  replicationFactor: number;
  membership(): Membership | undefined;
  /** Ring epochs on pings and ring changes from peers (join/leave). */
  ring: RingEpochHooks & { state: () => RingStateMsg; apply: (state: RingStateMsg) => void };
  logger: Logger;
}

/** Records per Sync message: large enough to amortise framing, small enough to respect flow control. */
const SYNC_BATCH = 512;

/** The ringcache.v1.Peer handlers (node to node). */
export function peerService(deps: PeerServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  endStreams: () => void;
} {
  const { store, hints, logger } = deps;
  // Replicate and Read streams live as long as the peer that opened them; a draining node ends them so
  // its gRPC server can shut down without waiting for its peers to hang up.
  const open = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  const track = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
    open.add(call);
    const forget = () => open.delete(call);
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', forget); // the coordinator's side reports it
    call.on('cancelled', forget);
  };
  const applyOne = (m: RecordMsg): number => {
    const record = msgToRecord(m);
    if (!record) return Code.INVALID_ARGUMENT;
    try {
      // A stand-in for a dead replica holds the write as a hint, not in its own store (sloppy quorum).
      if (m.hintFor && m.hintFor !== deps.selfId)
        return hints.add(m.hintFor, m.key, record) ? Code.OK : Code.RESOURCE_EXHAUSTED;
      store.applyRecord(m.key, record);
      return Code.OK;
    } catch (err) {
      return toCodeAndMessage(err, (bug) =>
        logger.error({ err: bug }, 'unexpected error applying a replica write'),
      ).code;
    }
  };

  const handlers: grpc.UntypedServiceImplementation = {
    Replicate: (call: grpc.ServerDuplexStream<ReplicateRequestMsg, ReplicateResponseMsg>) => {
      track(call);
      call.on('data', (frame: ReplicateRequestMsg) =>
        call.write({ frameId: frame.frameId, codes: frame.records.map(applyOne) }),
      );
    },
    Read: (call: grpc.ServerDuplexStream<ReadRequestMsg, ReadResponseMsg>) => {
      track(call);
      call.on('data', (frame: ReadRequestMsg) => {
        const results = frame.keys.map((key) => {
          const record = store.readRecord(key);
          return record ? { found: true, record: recordToMsg(key, record) } : { found: false, record: null };
        });
        call.write({ frameId: frame.frameId, results });
      });
    },
    Sync: (call: grpc.ServerWritableStream<SyncRequestMsg, SyncResponseMsg>) => {
      void streamRecordsFor(call, deps).catch((err: unknown) => {
        logger.warn({ err, forNode: call.request.forNode }, 'sync stream failed');
        call.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    },
    Ping: (
      call: grpc.ServerUnaryCall<PingRequestMsg, PingResponseMsg>,
      callback: grpc.sendUnaryData<PingResponseMsg>,
    ) => {
      const membership = deps.membership();
      if (!membership) return callback({ code: Code.UNAVAILABLE, details: 'gossip not started' });
      const { from, ringEpoch } = call.request;
      const updates = membership.handlePing(from, updatesFromWire(call.request.updates));
      if ((ringEpoch ?? 0) > deps.ring.epoch()) deps.ring.onNewerEpoch(from, ringEpoch ?? 0);
      callback(null, {
        from: deps.selfId,
        updates: updatesToWire(updates),
        ack: true,
        ringEpoch: deps.ring.epoch(),
      });
    },
    PingReq: (
      call: grpc.ServerUnaryCall<PingReqRequestMsg, PingResponseMsg>,
      callback: grpc.sendUnaryData<PingResponseMsg>,
    ) => {
      const membership = deps.membership();
      if (!membership) return callback({ code: Code.UNAVAILABLE, details: 'gossip not started' });
      const { from, target, updates } = call.request;
      void membership.handlePingReq(from, target, updatesFromWire(updates)).then(
        (out) => callback(null, { from: deps.selfId, updates: updatesToWire(out.updates), ack: out.ack }),
        () => callback(null, { from: deps.selfId, updates: [], ack: false }),
      );
    },
  };
  handlers.ApplyRing = (
    call: grpc.ServerUnaryCall<RingStateMsg, RingStateMsg>,
    callback: grpc.sendUnaryData<RingStateMsg>,
  ) => {
    deps.ring.apply(call.request);
    callback(null, deps.ring.state());
  };
  return {
    handlers,
    endStreams: () => {
      for (const call of open) call.end();
      open.clear();
    },
  };
}

/** Sends every record whose preference list holds `forNode`, in batches, waiting for the stream to drain. */
async function streamRecordsFor(
  call: grpc.ServerWritableStream<SyncRequestMsg, SyncResponseMsg>,
  deps: PeerServiceDeps,
): Promise<void> {
  const forNode = call.request.forNode;
  const ring = deps.topology.ring;
  let batch: RecordMsg[] = [];
  let sent = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const ok = call.write({ records: batch });
    sent += batch.length;
    batch = [];
    if (!ok) await new Promise((resolve) => call.once('drain', resolve));
  };
  for (const [key, record] of deps.store.records()) {
    if (call.cancelled) return;
    if (!ring.preferenceList(key, deps.replicationFactor).includes(forNode)) continue;
    batch.push(recordToMsg(key, record));
    if (batch.length >= SYNC_BATCH) await flush();
  }
  await flush();
  deps.logger.info({ forNode, records: sent }, 'sync sent');
  call.end();
}
