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
  type RecordMsg,
  type RingStateMsg,
  type SyncRequestMsg,
  type SyncResponseMsg,
} from '../proto/messages';
import { packFrame, recordFromPacked, recordToPacked, unpackFrame } from '../proto/packed';
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

/** Replica writes received: records / frames shows how well peers batch replication. */
export interface ReplicationCounters {
  frames: number;
  records: number;
}

/** The ringcache.v1.Peer handlers (node to node). */
export function peerService(deps: PeerServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  endStreams: () => void;
  replicated: ReplicationCounters;
} {
  const replicated: ReplicationCounters = { frames: 0, records: 0 };
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
    // Replicate and Read frames arrive as raw PackedFrame payloads (withRawPayloads in node.ts).
    Replicate: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      track(call);
      call.on('data', (payload: Buffer) => {
        const frame = readFrame(call, payload);
        if (!frame) return;
        replicated.frames++;
        replicated.records += frame.length - 2;
        const codes = frame
          .slice(2)
          .map((p) =>
            Array.isArray(p) ? applyOne(recordFromPacked(p as unknown[])) : Code.INVALID_ARGUMENT,
          );
        call.write(packFrame(Number(frame[0]), 0, codes));
      });
    },
    Read: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      track(call);
      call.on('data', (payload: Buffer) => {
        const frame = readFrame(call, payload);
        if (!frame) return;
        const results = frame.slice(2).map((key) => {
          const record = typeof key === 'string' ? store.readRecord(key) : undefined;
          return record ? recordToPacked(recordToMsg(key as string, record)) : [];
        });
        call.write(packFrame(Number(frame[0]), 0, results));
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
    replicated,
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

/** A peer's frame, or undefined after ending the stream with INVALID_ARGUMENT when it cannot be read. */
function readFrame(call: grpc.ServerDuplexStream<Buffer, Buffer>, payload: Buffer): unknown[] | undefined {
  try {
    return unpackFrame(payload);
  } catch (err) {
    call.emit('error', {
      code: Code.INVALID_ARGUMENT,
      details: `unreadable frame: ${(err as Error).message}`,
    });
    return undefined;
  }
}
