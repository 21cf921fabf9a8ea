import * as grpc from '@grpc/grpc-js';
import { Histogram } from 'prom-client';
import type { MemberUpdate } from '../cluster/membership/types';
import {
  NotCaughtUp,
  onAskedRing,
  type Lookup,
  type Ping,
  type PingReply,
  type PeerTransport,
  type Prepare,
  type ReplicaWrite,
} from '../cluster/peer-transport';
import type { Operation, Outcome } from '../cluster/replication/operation';
import type { RingState } from '../cluster/ring-change/topology';
import { RingCacheError } from '../errors';
import type { NodeTracer } from '../observability/tracing';
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
import { ringFromWire, ringToWire, updatesFromWire, updatesToWire } from './gossip-wire';
import { operationToMsg, outcomeFromMsg } from './operation-wire';
import {
  attachSyncedRequests,
  diffFromPacked,
  digestsToPacked,
  isNotCaughtUpPacked,
  lookupFromPacked,
  prepareToPacked,
  copyFromPacked,
  writeToPacked,
} from './packed-operations';
import type { RangeDiff, RangeDigests } from '../cluster/recovery/anti-entropy';
import { msgToRecord } from './record-codec';

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

interface PeerStub {
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

/** How long a catch-up stream may go without a message before its peer is given up on. */
const SYNC_IDLE_MS = 10_000;

const refusal = (code: number, message: string) => errorFromWire(code, message, undefined);

/** A probe on the Gossip stream that got no answer: the status, kept whole (UNIMPLEMENTED matters). */
class GossipFailure {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

function pingToWire(ping: Ping): PingRequestMsg {
  return {
    from: ping.from,
    updates: updatesToWire(ping.updates),
    ringEpoch: ping.ringEpoch,
    ringDigest: ping.ringDigest ?? 0,
    clock: ping.clock ?? 0,
  };
}

function pingReplyFromWire(res: PingResponseMsg): PingReply {
  return {
    updates: updatesFromWire(res.updates),
    ringEpoch: res.ringEpoch ?? 0,
    ringDigest: res.ringDigest ?? 0,
    clock: res.clock ?? 0,
    wallClockMs: res.wallClockMs ?? 0,
  };
}

/** `answer`, or a rejection as soon as `signal` aborts (the probe's frame times out on its own). */
function untilAborted<T>(answer: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    void answer.then((a) => {
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    });
  });
}

/** The packed streams to a peer whose frames' round trips are measured. */
type PeerStream = 'replicate' | 'read' | 'lookup';

/** Gets what to call with each answered frame's round trip (ms) on one stream. */
type RoundTrips = (stream: PeerStream) => (ms: number) => void;

/**
 * Everything one node says to another over gRPC: batched replica writes and reads on long-lived packed
 * streams, forwarded Cache operations (Pipeline with x-ringcache-forwarded-by), gossip pings and the
 * catch-up Sync stream. Replies are decoded straight into domain values (no extra promise per call).
 */
class PeerConnection {
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
        encode: (writes, frameId) => packFrame(frameId, selfId, writes.map(writeToPacked)),
        frameIdOf: (r) => Number(r[0]),
        itemBytes: (w) => w.record.value.length,
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

export interface GrpcPeerTransportOptions {
  selfId: string;
  /** The address to dial for a member (current ring, or one it left); undefined when unknown. */
  addressOf(id: string): string | undefined;
  /** RINGCACHE_CLUSTER_TOKEN: sent with every call when the cluster has one. */
  clusterToken?: string;
  /** Spans for peer calls made on behalf of a traced operation, when the node traces. */
  tracer?: NodeTracer;
  /** TLS to the peers (this node's certificate, the cluster's CA); plaintext when unset. */
  tls?: TlsOptions;
}

/** The core's PeerTransport over the Peer service: one connection per member, opened on first use. */
export class GrpcPeerTransport implements PeerTransport {
  readonly #opts: GrpcPeerTransportOptions;
  readonly #connections = new Map<string, PeerConnection>();
  /**
   * ringcache_peer_frame_duration_seconds{peer,stream}: each frame's round trip to a peer, from its
   * send to its reply: replica writes, replica reads and read-modify-write prepares. A frame carries
   * every operation sent meanwhile, so this is also what each of them waited for that peer. Not in
   * a registry: the node's metrics registry takes it in (node-metrics.ts).
   */
  readonly frameDurations = new Histogram({
    name: 'ringcache_peer_frame_duration_seconds',
    help: "Round trip of the frames sent to each peer's Replicate and Read streams, from send to reply",
    labelNames: ['peer', 'stream'] as const,
    // From 1 ms: frames are timed with Date.now(); one answered within the millisecond counts as 0.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });

  #tls: TlsOptions | undefined;

  constructor(opts: GrpcPeerTransportOptions) {
    this.#opts = opts;
    this.#tls = opts.tls;
  }

  /** New TLS files (a rotated certificate): connections are opened again with them. */
  setTls(tls: TlsOptions): void {
    this.#tls = tls;
    for (const id of [...this.#connections.keys()]) this.forget(id);
  }

  replicate(to: string, write: ReplicaWrite, deadlineMs: number): Promise<RingCacheError | undefined> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.resolve(conn);
    const tracer = this.#opts.tracer;
    return tracer
      ? tracer.peerCall('ringcache.replicate', to, () => conn.replicate.send(write, deadlineMs))
      : conn.replicate.send(write, deadlineMs);
  }

  read(
    to: string,
    key: string,
    deadlineMs: number,
    ringEpoch?: number,
  ): Promise<ReplicaWrite | undefined | RingCacheError> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.resolve(conn);
    const tracer = this.#opts.tracer;
    const item = { key, ringEpoch };
    return tracer
      ? tracer.peerCall('ringcache.read', to, () => conn.read.send(item, deadlineMs))
      : conn.read.send(item, deadlineMs);
  }

  lookup(to: string, key: string, prepare: Prepare, deadlineMs: number): Promise<Lookup | RingCacheError> {
    const conn = this.#connection(to);
    return conn instanceof RingCacheError
      ? Promise.resolve(conn)
      : conn.lookup.send({ key, prepare }, deadlineMs);
  }

  async forward(to: string, op: Operation, deadlineMs: number, notAfterMs?: number): Promise<Outcome> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return conn;
    const { id: _unnumbered, ...body } = operationToMsg(op, 0);
    if (notAfterMs !== undefined) body.notAfterMs = notAfterMs;
    const result = await conn.forwarder.send(body, deadlineMs);
    return outcomeFromMsg(result, Date.now());
  }

  sync(
    to: string,
    forNode: string,
    onRecords: (records: readonly ReplicaWrite[]) => void,
    signal: AbortSignal,
    ring?: RingState,
  ): Promise<void> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.reject(conn);
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new RingCacheError('SHUTTING_DOWN', 'catch-up stopped'));
      const stream = conn.stub.Sync({ forNode, ring: ring ? ringToWire(ring) : null });
      const onAbort = () => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      // A peer that stops sending (paused, cut off) must not hold the catch-up, and with it the
      // node's SERVING, forever: after SYNC_IDLE_MS without a message it is given up on.
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => stream.cancel(), SYNC_IDLE_MS);
      };
      arm();
      const done = (err?: Error) => {
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      stream.on('data', (msg: SyncResponseMsg) => {
        arm();
        const writes: ReplicaWrite[] = [];
        for (const m of msg.records) {
          const record = msgToRecord(m);
          if (record) writes.push({ key: m.key, record });
        }
        attachSyncedRequests(writes, msg.requests);
        onRecords(writes);
      });
      stream.on('end', () => done());
      stream.on('error', (err: Error) => done(err));
    });
  }

  async ping(to: string, ping: Ping, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) throw conn;
    const deadlineMs = Date.now() + timeoutMs;
    if (!conn.probeByCall) {
      if (signal.aborted) throw new Error('aborted');
      let answer = await untilAborted(conn.gossip.send(ping, deadlineMs), signal);
      // Probes share the stream: one that ended (a drain, a refusal) failed every probe it carried,
      // whose peers may be up. Each is sent once more, on a new stream, as a call of its own would be.
      if (answer instanceof GossipFailure && answer.code === Code.UNAVAILABLE && Date.now() < deadlineMs)
        answer = await untilAborted(conn.gossip.send(ping, deadlineMs), signal);
      if (!(answer instanceof GossipFailure)) return answer;
      if (answer.code !== Code.UNIMPLEMENTED) throw refusal(answer.code, answer.message);
      // A release before Gossip: probed with a call each time, as it always was.
      conn.probeByCallForNow();
    }
    const res = await this.#unary<PingResponseMsg>(
      to,
      (stub, cb, opts) => stub.Ping(pingToWire(ping), new grpc.Metadata(), opts, cb),
      Math.max(0, deadlineMs - Date.now()),
      signal,
    ).catch((err: grpc.ServiceError) => {
      // Refused as on the stream: a typed error with the peer's status.
      throw typeof err.code === 'number' ? refusal(err.code, `${to}: ${err.details}`) : err;
    });
    return pingReplyFromWire(res);
  }

  async pingReq(
    via: string,
    target: string,
    ping: Ping,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    const res = await this.#unary<PingResponseMsg>(
      via,
      (stub, cb, opts) =>
        stub.PingReq(
          { from: ping.from, target, updates: updatesToWire(ping.updates) },
          new grpc.Metadata(),
          opts,
          cb,
        ),
      timeoutMs,
      signal,
    );
    return { ack: res.ack, updates: updatesFromWire(res.updates) };
  }

  compare(to: string, digests: RangeDigests, deadlineMs: number): Promise<RangeDiff | RingCacheError> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.resolve(conn);
    return new Promise((resolve) => {
      conn.stub.makeUnaryRequest<Buffer, Buffer>(
        '/ringcache.v1.Peer/Compare',
        serializePackedFrame,
        deserializePackedFrame,
        packFrame(0, 0, [digestsToPacked(digests)]),
        new grpc.Metadata(),
        { deadline: deadlineMs },
        (err, res) => {
          if (err || !res)
            return resolve(refusal(err?.code ?? Code.UNAVAILABLE, `${to}: ${err?.details ?? 'empty reply'}`));
          let diff: RangeDiff | undefined;
          try {
            diff = diffFromPacked(unpackFrame(res)[2]);
          } catch {
            diff = undefined;
          }
          resolve(diff ?? refusal(Code.INTERNAL, `${to} sent an unreadable anti-entropy reply`));
        },
      );
    });
  }

  async applyRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState> {
    const res = await this.#unary<RingStateMsg>(
      to,
      (stub, cb, opts) => stub.ApplyRing(ringToWire(ring), new grpc.Metadata(), opts, cb),
      timeoutMs,
    );
    return ringFromWire(res);
  }

  async flush(to: string, prefix: string, timeoutMs: number, fence?: number): Promise<number> {
    const res = await this.#unary<FlushResponseMsg>(
      to,
      (stub, cb, opts) =>
        stub.Flush({ prefix, confirm: true, fence: fence ?? 0 }, new grpc.Metadata(), opts, cb),
      timeoutMs,
    );
    return res.keysDeleted;
  }

  async proposeRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState> {
    const res = await this.#unary<RingStateMsg>(
      to,
      (stub, cb, opts) => stub.ProposeRing(ringToWire(ring), new grpc.Metadata(), opts, cb),
      timeoutMs,
    );
    return ringFromWire(res);
  }

  /**
   * A unary call of another of the peer's services (`/ringcache.v1.Cluster/Stats`, say) over the
   * connection to it, as this node (its cluster token and TLS).
   */
  unaryTo<Req, Res>(
    to: string,
    method: grpc.MethodDefinition<Req, Res>,
    request: Req,
    deadlineMs: number,
  ): Promise<Res> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.reject(conn);
    return new Promise((resolve, reject) => {
      conn.stub.makeUnaryRequest<Req, Res>(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: deadlineMs },
        (err, res) =>
          err || res === undefined
            ? reject(refusal(err?.code ?? Code.UNAVAILABLE, `${to}: ${err?.details ?? 'empty reply'}`))
            : resolve(res),
      );
    });
  }

  forget(id: string): void {
    this.#connections.get(id)?.close();
    this.#connections.delete(id);
  }

  close(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  /** The open connection to `id`, opened now if needed, re-opened when its address changed. */
  #connection(id: string): PeerConnection | RingCacheError {
    const address = this.#opts.addressOf(id);
    let conn = this.#connections.get(id);
    if (conn && address !== undefined && conn.address !== address) {
      this.forget(id);
      conn = undefined;
    }
    if (conn) return conn;
    if (address === undefined)
      return new RingCacheError('UNAVAILABLE', `node ${id} is not a member this node knows`);
    conn = new PeerConnection(
      this.#opts.selfId,
      id,
      address,
      this.#opts.clusterToken,
      this.#tls,
      (stream) => {
        const series = this.frameDurations.labels({ peer: id, stream });
        return (ms) => series.observe(ms / 1000);
      },
    );
    this.#connections.set(id, conn);
    return conn;
  }

  #unary<T>(
    to: string,
    call: (
      stub: PeerStub,
      cb: (err: grpc.ServiceError | null, res?: T) => void,
      opts: grpc.CallOptions,
    ) => grpc.ClientUnaryCall,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.reject(conn);
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const onAbort = () => handle.cancel();
      const handle = call(
        conn.stub,
        (err, res) => {
          signal?.removeEventListener('abort', onAbort);
          if (err || !res) reject(err ?? new Error('empty reply'));
          else resolve(res);
        },
        { deadline: Date.now() + timeoutMs },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
