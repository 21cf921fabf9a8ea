import * as grpc from '@grpc/grpc-js';
import { HotHistogram } from '../observability/hot-histogram';
import type { MemberUpdate } from '../cluster/membership/types';
import {
  NO_DEBT,
  type Lookup,
  type Ping,
  type PingReply,
  type PeerTransport,
  type Prepare,
  type ReplicaWrite,
  type SyncDebt,
} from '../cluster/peer-transport';
import type { Operation, Outcome } from '../cluster/replication/operation';
import type { RingState } from '../cluster/ring-change/topology';
import { RingCacheError } from '../errors';
import type { NodeTracer } from '../observability/tracing';
import {
  Code,
  type FlushResponseMsg,
  type PingResponseMsg,
  type RingStateMsg,
  type SyncResponseMsg,
} from '../proto/messages';
import { deserializePackedFrame, packFrame, serializePackedFrame, unpackFrame } from '../proto/packed';
import type { TlsOptions } from '../transport/tls';
import { ringFromWire, ringToWire, updatesFromWire, updatesToWire } from './gossip-wire';
import { operationToMsg, outcomeFromMsg } from './operation-wire';
import { attachSyncedRequests, diffFromPacked, digestsToPacked } from './packed-operations';
import type { RangeDiff, RangeDigests } from '../cluster/recovery/anti-entropy';
import { msgToRecord } from './record-codec';
import {
  GossipFailure,
  PeerConnection,
  pingReplyFromWire,
  pingToWire,
  refusal,
  type PeerStub,
} from './peer-connection';

/** How long a catch-up stream may go without a message before its peer is given up on. */
const SYNC_IDLE_MS = 10_000;

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
   * a registry: the node takes it into its metrics registry (node.ts).
   */
  readonly frameDurations = new HotHistogram(
    'ringcache_peer_frame_duration_seconds',
    "Round trip of the frames sent to each peer's Replicate and Read streams, from send to reply",
    ['peer', 'stream'],
    // From 1 ms: frames are timed with Date.now(); one answered within the millisecond counts as 0.
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );

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
  ): Promise<SyncDebt> {
    const conn = this.#connection(to);
    if (conn instanceof RingCacheError) return Promise.reject(conn);
    let debt = NO_DEBT;
    return new Promise<SyncDebt>((resolve, reject) => {
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
        else resolve(debt);
      };
      stream.on('data', (msg: SyncResponseMsg) => {
        arm();
        if (msg.owedPeers && msg.owedPeers.length > 0) debt = debtFromWire(msg);
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
        const series = this.frameDurations.series({ peer: id, stream });
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

/**
 * The most owed peers and rings a Sync's last message is read for, and members of each ring. Peers:
 * as many as a ring may have members (ring/continuum.ts); the receiver keeps those of its ring.
 */
const MAX_DEBT_PEERS = 65_535;
const MAX_DEBT_RINGS = 16;
const MAX_DEBT_RING_MEMBERS = 1024;

/**
 * What the sender of a Sync stream owes, as its last message says (SyncDebt), bounded: a peer is
 * named by a non-empty string, once. Its rings are taken only if each is a list of distinct
 * non-empty ids, and there are at most MAX_DEBT_RINGS of them; otherwise none (the receiver then
 * owes the peers for every key it took from this sender: CatchUpState).
 */
export function debtFromWire(msg: Pick<SyncResponseMsg, 'owedPeers' | 'owedRings'>): SyncDebt {
  const peers = [...new Set((msg.owedPeers ?? []).filter((id) => typeof id === 'string' && id !== ''))];
  if (peers.length === 0) return NO_DEBT;
  const rings = (msg.owedRings ?? []).map((r) => r.nodeIds ?? []);
  const readable =
    rings.length <= MAX_DEBT_RINGS &&
    rings.every(
      (ids) =>
        ids.length > 0 &&
        ids.length <= MAX_DEBT_RING_MEMBERS &&
        ids.every((id) => typeof id === 'string' && id !== '') &&
        new Set(ids).size === ids.length,
    );
  return { peers: peers.slice(0, MAX_DEBT_PEERS), rings: readable ? rings : [] };
}
