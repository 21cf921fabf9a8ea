import * as grpc from '@grpc/grpc-js';
import {
  NotCaughtUp,
  onAskedRing,
  type Lookup,
  type Ping,
  type PingReply,
  type Prepare,
  type ReplicaWrite,
} from '../cluster/peer-transport';
import { RingCacheError } from '../errors';
import { loadServices } from '../proto/load';
import {
  Code,
  METADATA,
  type FlushResponseMsg,
  type PeerFlushRequestMsg,
  type MemberUpdateMsg,
  type PingRequestMsg,
  type PingResponseMsg,
  type RingStateMsg,
  type SyncResponseMsg,
} from '../proto/messages';
import {
  deserializePackedFrame,
  isReplyPart,
  PACKED_PART_BYTES,
  packFrame,
  replyFrameIdOf,
  serializePackedFrame,
  unpackFrame,
} from '../proto/packed';
import { errorFromWire } from '../proto/status-codes';
import { BatchedStream } from '../transport/batched-stream';
import { withClusterToken } from '../transport/cluster-token';
import { channelCredentials, withTls, type TlsOptions } from '../transport/tls';
import { CHANNEL_OPTIONS, PipelineConnection } from '../transport/pipeline-connection';
import { updatesFromWire, updatesToWire } from './gossip-wire';
import {
  isNotCaughtUpPacked,
  lookupFromPacked,
  prepareToPacked,
  copyFromPacked,
  writeToPacked,
} from './packed-operations';

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

export interface PeerStub {
  Gossip(md?: grpc.Metadata): grpc.ClientDuplexStream<PingRequestMsg, PingResponseMsg>;
  Sync(
    req: { forNode: string; ring: RingStateMsg | null },
    md?: grpc.Metadata,
  ): grpc.ClientReadableStream<SyncResponseMsg>;
  PingReq: Unary<{ from: string; target: string; updates: MemberUpdateMsg[] }, PingResponseMsg>;
  ApplyRing: Unary<RingStateMsg, RingStateMsg>;
  ProposeRing: Unary<RingStateMsg, RingStateMsg>;
  Flush: Unary<PeerFlushRequestMsg, FlushResponseMsg>;
  Ping: Unary<PingRequestMsg, PingResponseMsg>;
}

/** A replica read as queued: the key, and the epoch of the ring the read is counted on. */
interface ReadItem {
  key: string;
  ringEpoch: number | undefined;
}

/** A read-modify-write's prepare as queued. */
interface LookupItem {
  key: string;
  prepare: Prepare;
}

const keyOf = (r: ReadItem): string => r.key;
const prepareOf = (l: LookupItem): unknown[] => prepareToPacked(l.key, l.prepare);

/**
 * The ring epoch a replica held when it answered a Replicate or Read frame (the reply's second
 * element); 0 from a release that sends none (it sent 0), which no rule is applied to.
 */
function replyRingEpoch(reply: readonly unknown[]): number {
  const epoch = reply[1];
  return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch > 0 ? epoch : 0;
}

export const refusal = (code: number, message: string) => errorFromWire(code, message, undefined);

/** A probe on the Gossip stream that got no answer: the status, kept whole (UNIMPLEMENTED matters). */
export class GossipFailure {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

export function pingToWire(ping: Ping): PingRequestMsg {
  return {
    from: ping.from,
    updates: updatesToWire(ping.updates),
    ringEpoch: ping.ringEpoch,
    ringDigest: ping.ringDigest ?? 0,
    clock: ping.clock ?? 0,
  };
}

export function pingReplyFromWire(res: PingResponseMsg): PingReply {
  return {
    updates: updatesFromWire(res.updates),
    ringEpoch: res.ringEpoch ?? 0,
    ringDigest: res.ringDigest ?? 0,
    clock: res.clock ?? 0,
    wallClockMs: res.wallClockMs ?? 0,
  };
}

/** The packed streams to a peer whose frames' round trips are measured. */
export type PeerStream = 'replicate' | 'read' | 'lookup';

/** Gets what to call with each answered frame's round trip (ms) on one stream. */
export type RoundTrips = (stream: PeerStream) => (ms: number) => void;

/**
 * Everything one node says to another over gRPC: batched replica writes and reads on long-lived packed
 * streams, forwarded Cache operations (Pipeline with x-ringcache-forwarded-by), gossip pings and the
 * catch-up Sync stream. Replies are decoded straight into domain values (no extra promise per call).
 */
export class PeerConnection {
  readonly address: string;
  readonly stub: PeerStub & grpc.Client;
  readonly replicate: BatchedStream<ReplicaWrite, RingCacheError | undefined, Buffer, unknown[]>;
  readonly read: BatchedStream<ReadItem, ReplicaWrite | undefined | RingCacheError, Buffer, unknown[]>;
  /** Read-modify-write prepares (packed by prepareToPacked), on a Read stream of their own. */
  readonly lookup: BatchedStream<LookupItem, Lookup | RingCacheError, Buffer, unknown[]>;
  /** SWIM probes (Peer.Gossip), one per message. */
  readonly gossip: BatchedStream<Ping, PingReply | GossipFailure, PingRequestMsg, PingResponseMsg>;
  /**
   * Whether this peer is probed with Ping: it answered Gossip with UNIMPLEMENTED (an older release).
   * Until its connection changes state: an upgrade restarts the peer, which drops the connection.
   */
  probeByCall = false;
  readonly forwarder: PipelineConnection;

  constructor(
    selfId: string,
    id: string,
    address: string,
    clusterToken: string | undefined,
    tls: TlsOptions | undefined,
    roundTrips: RoundTrips,
  ) {
    this.address = address;
    const peerName = `node ${id} (${address})`;
    const { Peer } = loadServices();
    this.stub = new Peer(
      address,
      channelCredentials(tls),
      withTls(withClusterToken(CHANNEL_OPTIONS, clusterToken), tls),
    ) as unknown as PeerStub & grpc.Client;
    const deserialize = (buf: Buffer): unknown[] => unpackFrame(deserializePackedFrame(buf));
    const open = (method: string) => () =>
      this.stub.makeBidiStreamRequest<Buffer, unknown[]>(
        `/ringcache.v1.Peer/${method}`,
        serializePackedFrame,
        deserialize,
        new grpc.Metadata(),
      );
    this.replicate = new BatchedStream(
      open('Replicate'),
      {
        // Last, the frame's deadline (its earliest write's, when this side gives the frame up): a
        // replica that reads the frame later refuses it (PeerEndpoint.replicate). None when unbounded.
        encode: (writes, frameId, deadlineMs, bytes) =>
          packFrame(
            frameId,
            selfId,
            writes.map(writeToPacked),
            Number.isFinite(deadlineMs) ? Math.max(1, Math.ceil(deadlineMs)) : undefined,
            bytes,
          ),
        frameIdOf: (r) => Number(r[0]),
        // Keys count too, as in the SDK's frames: a frame of long keys stays near PACKED_PART_BYTES.
        itemBytes: (w) => w.record.value.length + w.key.length,
        decode: (r, _count, writes, from) => {
          const epoch = replyRingEpoch(r);
          return r
            .slice(2)
            .map((code, i) =>
              code === Code.OK
                ? onAskedRing(undefined, writes[from + i]?.ringEpoch, epoch, id)
                : refusal(Number(code), `${peerName} refused the write`),
            );
        },
        failure: refusal,
      },
      // One frame in flight per replica: writes made meanwhile leave together with the reply.
      // npm run bench, N=3/W=2, 256 in flight: 70.4k ops/s against 54.7k with no limit.
      {
        peerName,
        maxFramesInFlight: 1,
        maxFrameBytes: PACKED_PART_BYTES,
        onRoundTrip: roundTrips('replicate'),
      },
    );
    this.read = new BatchedStream(
      open('Read'),
      {
        encode: (reads, frameId) => packFrame(frameId, selfId, reads.map(keyOf)),
        frameIdOf: replyFrameIdOf,
        isPart: isReplyPart,
        decode: (r, _count, reads, from) => {
          const epoch = replyRingEpoch(r);
          return r.slice(2).map((p, i) => {
            if (!Array.isArray(p) || p.length === 0)
              return onAskedRing(undefined, reads[from + i]?.ringEpoch, epoch, id);
            if (isNotCaughtUpPacked(p)) return new NotCaughtUp(id);
            const asked = reads[from + i];
            if (!asked) return refusal(Code.INTERNAL, `${peerName} answered more reads than it was asked`);
            const copy = copyFromPacked(p, asked.key);
            if (!copy) return refusal(Code.INTERNAL, `${peerName} sent a record with no version`);
            return onAskedRing(copy, asked.ringEpoch, epoch, id);
          });
        },
        failure: refusal,
      },
      { peerName, onRoundTrip: roundTrips('read') },
    );
    this.lookup = new BatchedStream(
      open('Read'),
      {
        encode: (items, frameId) => packFrame(frameId, selfId, items.map(prepareOf)),
        frameIdOf: replyFrameIdOf,
        isPart: isReplyPart,
        decode: (r, _count, items, from) => {
          const epoch = replyRingEpoch(r);
          return r.slice(2).map((p, i) => {
            if (isNotCaughtUpPacked(p)) return new NotCaughtUp(id);
            const found = lookupFromPacked(p);
            if (!found) return refusal(Code.INTERNAL, `${peerName} sent an unreadable lookup`);
            return onAskedRing(found, items[from + i]?.prepare.ringEpoch, epoch, id);
          });
        },
        failure: refusal,
      },
      { peerName, onRoundTrip: roundTrips('lookup') },
    );
    this.gossip = new BatchedStream<Ping, PingReply | GossipFailure, PingRequestMsg, PingResponseMsg>(
      () => this.stub.Gossip(new grpc.Metadata()),
      {
        encode: ([ping], probeId) => ({ ...pingToWire(ping!), probeId }),
        frameIdOf: (answer) => answer.probeId ?? 0,
        decode: (answer): (PingReply | GossipFailure)[] => [pingReplyFromWire(answer)],
        failure: (code, message) => new GossipFailure(code, message),
      },
      // A probe unanswered in time may have found the stream silent while the connection answers:
      // the next probes go on a new one, as each call did, and those still awaited keep the old one.
      { peerName, maxItemsPerFrame: 1, retireSilentStreams: true },
    );
    this.forwarder = new PipelineConnection({
      address,
      peerName,
      metadata: { [METADATA.forwardedBy]: selfId },
      clusterToken,
      tls,
    });
  }

  /** The peer has no Gossip: probed with Ping until its connection drops (see probeByCall). */
  probeByCallForNow(): void {
    const channel = this.stub.getChannel();
    const state = channel.getConnectivityState(false);
    try {
      channel.watchConnectivityState(state, Infinity, () => (this.probeByCall = false));
      this.probeByCall = true;
    } catch {
      // The channel was shut down: this connection is being closed, and probes will open another.
    }
  }

  close(): void {
    this.replicate.close();
    this.read.close();
    this.lookup.close();
    this.gossip.close();
    this.forwarder.close();
    this.stub.close();
  }
}
