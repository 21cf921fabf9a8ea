import type * as grpc from '@grpc/grpc-js';
import {
  joinDebts,
  NotCaughtUp,
  type PeerEndpoint,
  type Prepare,
  type ReplicaWrite,
} from '../cluster/peer-transport';
import type { RingState } from '../cluster/ring-change/topology';
import type { Logger } from '../observability/logger';
import {
  Code,
  type FlushResponseMsg,
  type PeerFlushRequestMsg,
  type PingReqRequestMsg,
  type PingRequestMsg,
  type PingResponseMsg,
  type RingStateMsg,
  type SyncRequestMsg,
  type SyncResponseMsg,
} from '../proto/messages';
import { packFrame, packReply, trailingNumberOf, unpackFrame } from '../proto/packed';
import { wireCodeOf } from '../proto/status-codes';
import { ringFromWire, ringToWire, updatesFromWire, updatesToWire } from './gossip-wire';
import {
  diffToPacked,
  digestsFromPacked,
  lookupToPacked,
  NOT_CAUGHT_UP_PACKED,
  prepareFromPacked,
  syncedRequestsToPacked,
  writeFromPacked,
  writeToPacked,
} from './packed-operations';
import { recordToMsg } from './record-codec';
import { toStatus } from './status';

export interface PeerServiceDeps {
  selfId: string;
  /** The node's core, which answers every call once translated. */
  endpoint: PeerEndpoint;
  logger: Logger;
  /**
   * A Replicate or Read frame, a comparison or a sync stream arrived: work that brings values in or
   * copies them out (the memory guard's `nudge`). Called on each frame, so it must be cheap.
   */
  onRequest?: () => void;
}

/**
 * Answers a Gossip stream may hold that its connection has not taken yet, before the node stops
 * reading it: a peer probes a few times a second and reads each answer at once, so only one that
 * reads none (or sends probes by the thousand) gets near it.
 */
const GOSSIP_MAX_UNSENT = 1024;

/** Records per Sync message: large enough to amortise framing, small enough to respect flow control. */
const SYNC_BATCH = 512;

/** Replica writes received: records / frames shows how well peers batch replication. */
export interface ReplicationCounters {
  frames: number;
  records: number;
  /** Records refused as read after their sender's deadline (PeerEndpoint.replicate). */
  refusedLate: number;
}

/** The ringcache.v1.Peer handlers (node to node): wire in, PeerEndpoint calls, wire out. */
export function peerService(deps: PeerServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  endStreams: () => void;
  replicated: ReplicationCounters;
} {
  const replicated: ReplicationCounters = { frames: 0, records: 0, refusedLate: 0 };
  const { endpoint, logger } = deps;
  // Replicate, Read and Gossip streams live as long as the peer that opened them; a draining node
  // ends them so its gRPC server can shut down without waiting for its peers to hang up.
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
  const applyOne = (p: unknown, deadlineMs: number | undefined): number => {
    const write = Array.isArray(p) ? writeFromPacked(p) : undefined;
    if (!write) return Code.INVALID_ARGUMENT;
    const refused = endpoint.replicate(write, deadlineMs);
    if (!refused) return Code.OK;
    if (refused.code === 'DEADLINE_EXCEEDED') replicated.refusedLate++;
    return wireCodeOf[refused.code];
  };

  // [] is an unreadable answer, which the coordinator takes as this replica failing the round.
  const lookupOrEmpty = (key: string, prepare: Prepare): readonly unknown[] => {
    try {
      const found = endpoint.lookup(key, prepare);
      return found instanceof NotCaughtUp ? NOT_CAUGHT_UP_PACKED : lookupToPacked(key, found);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'read-modify-write prepare refused');
      return [];
    }
  };
  // Ring changes throw INVALID_ARGUMENT for a ring with absurd epochs (cluster/ring-change/ring-bounds.ts).
  const ringCall =
    (answer: (ring: RingState) => RingState) =>
    (call: grpc.ServerUnaryCall<RingStateMsg, RingStateMsg>, callback: grpc.sendUnaryData<RingStateMsg>) => {
      try {
        callback(null, ringToWire(answer(ringFromWire(call.request))));
      } catch (err) {
        callback(toStatus(err, logger));
      }
    };

  const answerPing = (req: PingRequestMsg): PingResponseMsg => {
    const reply = endpoint.ping({
      from: req.from,
      updates: updatesFromWire(req.updates),
      ringEpoch: req.ringEpoch ?? 0,
      ringDigest: req.ringDigest ?? 0,
      clock: req.clock ?? 0,
    });
    return {
      from: deps.selfId,
      updates: updatesToWire(reply.updates),
      ack: true,
      ringEpoch: reply.ringEpoch,
      ringDigest: reply.ringDigest ?? 0,
      clock: reply.clock ?? 0,
      wallClockMs: reply.wallClockMs ?? 0,
      probeId: req.probeId ?? 0,
    };
  };

  const handlers: grpc.UntypedServiceImplementation = {
    // Replicate and Read frames arrive as raw PackedFrame payloads (withRawPayloads in node.ts).
    Replicate: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      track(call);
      call.on('data', (payload: Buffer) => {
        deps.onRequest?.();
        const frame = readFrame(call, payload);
        if (!frame) return;
        // The sender's deadline comes last (records are arrays); older senders send none.
        const deadlineMs = trailingNumberOf(frame);
        const end = deadlineMs === undefined ? frame.length : frame.length - 1;
        replicated.frames++;
        replicated.records += end - 2;
        const codes = new Array<number>(end - 2);
        for (let i = 2; i < end; i++) codes[i - 2] = applyOne(frame[i], deadlineMs);
        // The ring this node holds as it answers: the coordinator counts no answer on an older one.
        call.write(packFrame(Number(frame[0]), endpoint.ringEpoch(), codes));
      });
    },
    Read: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      track(call);
      call.on('data', (payload: Buffer) => {
        deps.onRequest?.();
        const frame = readFrame(call, payload);
        if (!frame) return;
        // A key reads its record; an array is a read-modify-write round's prepare.
        const results = frame.slice(2).map((item) => {
          if (Array.isArray(item)) {
            const asked = prepareFromPacked(item);
            return asked ? lookupOrEmpty(asked.key, asked.prepare) : [];
          }
          const copy = typeof item === 'string' ? endpoint.read(item) : undefined;
          if (copy instanceof NotCaughtUp) return NOT_CAUGHT_UP_PACKED;
          return copy ? writeToPacked(copy) : [];
        });
        for (const message of packReply(Number(frame[0]), endpoint.ringEpoch(), results)) call.write(message);
      });
    },
    Compare: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      deps.onRequest?.();
      let digests: ReturnType<typeof digestsFromPacked>;
      try {
        digests = digestsFromPacked(unpackFrame(call.request)[2]);
      } catch {
        digests = undefined;
      }
      if (!digests)
        return callback({ code: Code.INVALID_ARGUMENT, details: 'unreadable anti-entropy digests' });
      endpoint.compare(digests).then(
        (diff) => callback(null, packFrame(0, 0, [diffToPacked(diff)])),
        (err: unknown) => {
          logger.warn({ err }, 'anti-entropy comparison failed');
          callback({ code: Code.INTERNAL, details: 'anti-entropy comparison failed (logged on the node)' });
        },
      );
    },
    Sync: (call: grpc.ServerWritableStream<SyncRequestMsg, SyncResponseMsg>) => {
      deps.onRequest?.();
      void streamRecordsFor(call, deps).catch((err: unknown) => {
        logger.warn({ err, forNode: call.request.forNode }, 'sync stream failed');
        call.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    },
    Ping: (
      call: grpc.ServerUnaryCall<PingRequestMsg, PingResponseMsg>,
      callback: grpc.sendUnaryData<PingResponseMsg>,
    ) => {
      try {
        callback(null, answerPing(call.request));
      } catch (err) {
        callback(toStatus(err, logger));
      }
    },
    // Probes on a long-lived stream, each answered in order with its probe_id (peer.proto).
    Gossip: (call: grpc.ServerDuplexStream<PingRequestMsg, PingResponseMsg>) => {
      track(call);
      let refused = false;
      // Answers written and not yet taken by the connection: past GOSSIP_MAX_UNSENT the node stops
      // reading the stream until half have gone, and HTTP/2 flow control holds the peer's probes.
      let unsent = 0;
      let paused = false;
      const taken = () => {
        unsent--;
        if (paused && unsent <= GOSSIP_MAX_UNSENT / 2) {
          paused = false;
          call.resume();
        }
      };
      call.on('data', (req: PingRequestMsg) => {
        if (refused || call.writableEnded || call.destroyed) return;
        let answer: PingResponseMsg;
        try {
          answer = answerPing(req);
        } catch (err) {
          refused = true;
          call.emit('error', toStatus(err, logger));
          return;
        }
        unsent++;
        call.write(answer, taken);
        if (!paused && unsent >= GOSSIP_MAX_UNSENT) {
          paused = true;
          call.pause();
        }
      });
    },
    PingReq: (
      call: grpc.ServerUnaryCall<PingReqRequestMsg, PingResponseMsg>,
      callback: grpc.sendUnaryData<PingResponseMsg>,
    ) => {
      const { from, target, updates } = call.request;
      void endpoint.pingReq(from, target, updatesFromWire(updates)).then(
        (out) => callback(null, { from: deps.selfId, updates: updatesToWire(out.updates), ack: out.ack }),
        () => callback(null, { from: deps.selfId, updates: [], ack: false }),
      );
    },
    ApplyRing: ringCall((ring) => endpoint.applyRing(ring)),
    Flush: (
      call: grpc.ServerUnaryCall<PeerFlushRequestMsg, FlushResponseMsg>,
      callback: grpc.sendUnaryData<FlushResponseMsg>,
    ) => {
      // The node that coordinates a Cluster/Flush confirms it; a stray request deletes nothing.
      if (!call.request.confirm)
        return callback({ code: Code.FAILED_PRECONDITION, details: 'Peer/Flush needs confirm' });
      try {
        const deleted = endpoint.flush(call.request.prefix, call.request.fence || undefined);
        callback(null, { keysDeleted: deleted, nodes: [deps.selfId] });
      } catch (err) {
        callback(toStatus(err, logger));
      }
    },
    ProposeRing: ringCall((ring) => endpoint.proposeRing(ring)),
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
  const { forNode, ring } = call.request;
  const on = ring && ring.members.length > 0 ? ringFromWire(ring) : undefined;
  let batch: ReplicaWrite[] = [];
  let sent = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const requests = syncedRequestsToPacked(batch);
    const records = batch.map((w) => recordToMsg(w.key, w.record));
    const ok = call.write(requests ? { records, requests } : { records });
    sent += batch.length;
    batch = [];
    if (!ok) await new Promise((resolve) => call.once('drain', resolve));
  };
  // Asked before the records and after them: the copies sent may lack the writes of a peer this
  // node owed at either moment (SyncDebt).
  const owedBefore = deps.endpoint.syncDebt();
  for (const write of deps.endpoint.syncRecords(forNode, on)) {
    if (call.cancelled) return;
    batch.push(write);
    if (batch.length >= SYNC_BATCH) await flush();
  }
  await flush();
  const debt = joinDebts(owedBefore, deps.endpoint.syncDebt());
  if (debt.peers.length > 0)
    call.write({
      records: [],
      owedPeers: debt.peers,
      owedRings: debt.rings.map((nodeIds) => ({ nodeIds })),
    });
  deps.logger.info({ forNode, records: sent, owed: debt.peers }, 'sync sent');
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
