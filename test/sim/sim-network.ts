import { setMaxListeners } from 'node:events';
import type { MemberUpdate } from '../../src/cluster/membership/types';
import {
  onAskedRing,
  type Lookup,
  type Prepare,
  type Ping,
  type PingReply,
  type PeerEndpoint,
  type PeerTransport,
  type ReplicaWrite,
  joinDebts,
  type SyncDebt,
} from '../../src/cluster/peer-transport';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import type { RingState } from '../../src/cluster/ring-change/topology';
import type { RangeDiff, RangeDigests } from '../../src/cluster/recovery/anti-entropy';
import { RingCacheError } from '../../src/errors';
import type { Version } from '../../src/store/version';
import { inboxOf, type SimEvent, type VirtualTime } from './virtual-time';

/** One node's current incarnation as the network sees it. */
export interface SimHost {
  /** The owner of its events in virtual time: `id#incarnation`, so a crash drops exactly its work. */
  owner: string;
  endpoint: PeerEndpoint;
  /** Its clock (skewed), for turning deadlines into delays. */
  now(): number;
}

/** What can go wrong on the link a -> b. */
export interface LinkFault {
  /** Messages lost, 0..1. */
  dropRate: number;
  /** Added to every message's delay, ms. */
  extraDelayMs: number;
  /**
   * Requests are refused at once, as gRPC refuses calls on a channel waiting in its reconnect
   * backoff (its peer started after it was first dialled) while the peer already serves.
   */
  refuse?: boolean;
  /**
   * Requests delivered twice, 0..1: the handler runs again on a copy that arrives after its own
   * delay, and the first reply to come back answers the call (a retried send, a replayed frame).
   */
  duplicateRate?: number;
  /** A share of messages (0..1) held up to `tailDelayMs` more, uniformly: a long tail that reorders. */
  tailRate?: number;
  tailDelayMs?: number;
  /**
   * Catch-up streams (Peer.Sync) sent over this link broken off midway, 0..1: the records up to a
   * random point arrive, then the stream fails UNAVAILABLE, as one a reset connection cuts.
   */
  syncCutRate?: number;
}

/**
 * The simulated network between nodes: every message is an event in virtual time, delivered after a
 * seeded delay to the target's current incarnation, or lost (partition, link loss, crashed target).
 * Requests to a node that is down fail fast like a refused connection; requests lost on the way end
 * at their deadline, as they would over gRPC.
 */
export class SimNetwork {
  readonly #time: VirtualTime;
  readonly #random: () => number;
  readonly #hosts = new Map<string, SimHost>();
  /** Every transport made, for closeAll() once the run is over. */
  readonly #transports: SimTransport[] = [];
  /** Directed links cut: "a>b". */
  readonly #cut = new Set<string>();
  readonly #faults = new Map<string, LinkFault>();
  /**
   * Called as a copy of a record reaches `to`: a replica write delivered, or a catch-up stream's
   * records (the run's record of which writes outlived their node: FinalState.copies).
   */
  onCopy?: (to: string, key: string, version: Version) => void;
  /** Messages sent and lost: part of the run's fingerprint. */
  sent = 0;
  lost = 0;

  constructor(time: VirtualTime, random: () => number) {
    this.#time = time;
    this.#random = random;
  }

  attach(id: string, host: SimHost): void {
    this.#hosts.set(id, host);
  }

  /** The node is down: messages to it are refused until a new incarnation attaches. */
  detach(id: string): void {
    this.#hosts.delete(id);
  }

  /** Cuts a -> b (one way); cut both for a symmetric partition. */
  cut(a: string, b: string): void {
    this.#cut.add(`${a}>${b}`);
  }

  /** Whether a -> b is cut (by cut(); a link fault only loses some messages). */
  isCut(a: string, b: string): boolean {
    return this.#cut.has(`${a}>${b}`);
  }

  healAll(): void {
    this.#cut.clear();
    this.#faults.clear();
  }

  setFault(a: string, b: string, fault: LinkFault): void {
    this.#faults.set(`${a}>${b}`, fault);
  }

  clearFault(a: string, b: string): void {
    this.#faults.delete(`${a}>${b}`);
  }

  transportFor(self: string): PeerTransport {
    const transport = new SimTransport(self, this);
    this.#transports.push(transport);
    return transport;
  }

  /**
   * Closes every transport made for any incarnation of any node, once a run is over: a call still
   * waiting (a crashed node's, or one whose answer never came) holds an abort listener on a signal
   * made by AbortSignal.any, which Node keeps alive while it has listeners, and with it the whole
   * cluster. Left open, a process running thousands of seeds kept every cluster and ran out of memory.
   */
  closeAll(): void {
    for (const transport of this.#transports.splice(0)) transport.close();
  }

  /**
   * Sends a request from `from` to `to` and its reply back. Resolves with the reply, with `refused()`
   * when `to` is down, or with `lostAt(deadline)` when either message is lost and the deadline passes.
   * `from`'s own crash drops everything (its owner's events vanish, so this never settles).
   */
  call<T>(
    from: string,
    to: string,
    deadlineMs: number,
    handle: (endpoint: PeerEndpoint) => T | Promise<T>,
    failure: (err: RingCacheError) => T,
    signal?: AbortSignal,
  ): Promise<T> {
    const caller = this.#hosts.get(from);
    if (!caller) return new Promise<T>(() => undefined); // a dead node's leftover work: frozen
    return new Promise<T>((resolve) => {
      let settled = false;
      let reply: SimEvent | undefined;
      const finish = (v: T) => {
        if (settled) return;
        settled = true;
        deadline.cancelled = true;
        if (reply) reply.cancelled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => finish(failure(new RingCacheError('UNAVAILABLE', `call to ${to} aborted`)));
      const deadline = this.#time.after(Math.max(0, deadlineMs - caller.now()), caller.owner, () =>
        finish(failure(new RingCacheError('DEADLINE_EXCEEDED', `no answer from ${to} before the deadline`))),
      );
      // After the deadline is made, which finish() cancels.
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const target = this.#hosts.get(to);
      this.sent++;
      if (!target || this.#faults.get(`${from}>${to}`)?.refuse) {
        reply = this.#time.after(this.#delay(from, to), caller.owner, () =>
          finish(failure(new RingCacheError('UNAVAILABLE', `connection to ${to} refused`))),
        );
        return;
      }
      if (this.#lose(from, to)) return;
      const duplicateRate = this.#faults.get(`${from}>${to}`)?.duplicateRate ?? 0;
      const copies = duplicateRate > 0 && this.#random() < duplicateRate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        this.#time.after(this.#delay(from, to), inboxOf(target.owner), () => {
          if (this.#cut.has(`${from}>${to}`)) return void this.lost++; // cut while in flight
          let answer: Promise<T>;
          try {
            answer = Promise.resolve(handle(target.endpoint));
          } catch (err) {
            answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
          }
          void answer
            .then(undefined, (err: unknown) => failure(asRingCacheError(err)))
            .then((answered) => {
              if (this.#time.isDead(target.owner) || settled) return; // it crashed while answering, or no one waits
              this.sent++;
              if (this.#lose(to, from)) return;
              reply = this.#time.after(this.#delay(to, from), caller.owner, () => {
                if (this.#cut.has(`${to}>${from}`)) return void this.lost++;
                finish(answered);
              });
            });
        });
      }
    });
  }

  /**
   * Where a catch-up stream of `count` records from `from` to `to` breaks off (how many records
   * arrive first), or undefined when it is not cut (LinkFault.syncCutRate).
   */
  syncCutAt(from: string, to: string, count: number): number | undefined {
    const rate = this.#faults.get(`${from}>${to}`)?.syncCutRate ?? 0;
    if (rate <= 0 || this.#random() >= rate) return undefined;
    return Math.floor(this.#random() * (count + 1));
  }

  /** A node's own clock (skewed), or the world's for the client. */
  nowOf(id: string): number {
    return this.#hosts.get(id)?.now() ?? this.#time.now();
  }

  #lose(a: string, b: string): boolean {
    const fault = this.#faults.get(`${a}>${b}`);
    const lost = this.#cut.has(`${a}>${b}`) || (fault !== undefined && this.#random() < fault.dropRate);
    if (lost) this.lost++;
    return lost;
  }

  /** 0.2-1.2 ms on a quiet link: a LAN round trip, with enough jitter to reorder concurrent messages. */
  #delay(a: string, b: string): number {
    const fault = this.#faults.get(`${a}>${b}`);
    const base = 0.2 + this.#random() + (fault?.extraDelayMs ?? 0);
    if (!fault?.tailRate || this.#random() >= fault.tailRate) return base;
    return base + this.#random() * (fault.tailDelayMs ?? 0);
  }
}

const rejected = (err: RingCacheError) => ({ err });

function asRingCacheError(err: unknown): RingCacheError {
  return err instanceof RingCacheError ? err : new RingCacheError('INTERNAL', String(err));
}

/** The core's PeerTransport over the simulated network (memberlist's MockTransport). */
class SimTransport implements PeerTransport {
  readonly #self: string;
  readonly #net: SimNetwork;
  /** Aborted by close(): like a closed gRPC channel, every call still waiting fails at once. */
  readonly #closed = new AbortController();

  constructor(self: string, net: SimNetwork) {
    this.#self = self;
    this.#net = net;
    // Every call waiting listens to it: hundreds at a time is the normal case, not a leak.
    setMaxListeners(0, this.#closed.signal);
  }

  replicate(to: string, write: ReplicaWrite, deadlineMs: number): Promise<RingCacheError | undefined> {
    return this.#net.call<RingCacheError | undefined>(
      this.#self,
      to,
      deadlineMs,
      // The replica's answer states the ring it holds when it answers (NewerRing), as over gRPC.
      // The deadline travels with the write, as Replicate frames carry it over gRPC.
      (e) => {
        this.#net.onCopy?.(to, write.key, write.record.version);
        return onAskedRing(e.replicate(write, deadlineMs), write.ringEpoch, e.ringEpoch(), to);
      },
      (err) => err,
      this.#signal(),
    );
  }

  read(
    to: string,
    key: string,
    deadlineMs: number,
    ringEpoch?: number,
  ): Promise<ReplicaWrite | undefined | RingCacheError> {
    return this.#net.call<ReplicaWrite | undefined | RingCacheError>(
      this.#self,
      to,
      deadlineMs,
      (e) => onAskedRing(e.read(key), ringEpoch, e.ringEpoch(), to),
      (err) => err,
      this.#signal(),
    );
  }

  lookup(to: string, key: string, prepare: Prepare, deadlineMs: number): Promise<Lookup | RingCacheError> {
    return this.#net.call<Lookup | RingCacheError>(
      this.#self,
      to,
      deadlineMs,
      (e) => onAskedRing(e.lookup(key, prepare), prepare.ringEpoch, e.ringEpoch(), to),
      (err) => err,
      this.#signal(),
    );
  }

  compare(to: string, digests: RangeDigests, deadlineMs: number): Promise<RangeDiff | RingCacheError> {
    return this.#net.call<RangeDiff | RingCacheError>(
      this.#self,
      to,
      deadlineMs,
      (e) => e.compare(digests),
      (err) => err,
      this.#signal(),
    );
  }

  forward(to: string, op: Operation, deadlineMs: number, notAfterMs?: number): Promise<Outcome> {
    return this.#net.call<Outcome>(
      this.#self,
      to,
      deadlineMs,
      (e) => e.execute(op, { forwarded: true, deadlineMs, notAfterMs }),
      (err) => err,
      this.#signal(),
    );
  }

  async sync(
    to: string,
    forNode: string,
    onRecords: (records: readonly ReplicaWrite[]) => void,
    signal: AbortSignal,
    ring?: RingState,
  ): Promise<SyncDebt> {
    // The whole stream as one reply: fine for the simulator's small stores. The debt is asked before
    // and after the records, as the gRPC Peer service does.
    const out = await this.#net.call<{ records: ReplicaWrite[]; debt: SyncDebt } | { err: RingCacheError }>(
      this.#self,
      to,
      // As the gRPC transport gives up on a peer that stops sending: a paused one must not hold it.
      this.#deadline(10_000),
      (e) => {
        const before = e.syncDebt();
        const records = [...e.syncRecords(forNode, ring)];
        return { records, debt: joinDebts(before, e.syncDebt()) };
      },
      rejected,
      this.#signal(signal),
    );
    if ('err' in out) throw out.err;
    const cutAt = this.#net.syncCutAt(to, this.#self, out.records.length);
    const delivered = cutAt === undefined ? out.records : out.records.slice(0, cutAt);
    for (const r of delivered) this.#net.onCopy?.(this.#self, r.key, r.record.version);
    onRecords(delivered);
    if (cutAt === undefined) return out.debt;
    throw new RingCacheError('UNAVAILABLE', `catch-up stream from ${to} cut after ${cutAt} records`);
  }

  async ping(to: string, ping: Ping, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    const out = await this.#net.call<{ reply: PingReply } | { err: RingCacheError }>(
      this.#self,
      to,
      this.#deadline(timeoutMs),
      (e) => ({ reply: e.ping(ping) }),
      rejected,
      this.#signal(signal),
    );
    if ('err' in out) throw out.err;
    return out.reply;
  }

  async pingReq(
    via: string,
    target: string,
    ping: Ping,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    const out = await this.#net.call<
      { reply: { ack: boolean; updates: MemberUpdate[] } } | { err: RingCacheError }
    >(
      this.#self,
      via,
      this.#deadline(timeoutMs),
      async (e) => ({ reply: await e.pingReq(ping.from, target, ping.updates) }),
      rejected,
      this.#signal(signal),
    );
    if ('err' in out) throw out.err;
    return out.reply;
  }

  async applyRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState> {
    const out = await this.#net.call<{ ring: RingState } | { err: RingCacheError }>(
      this.#self,
      to,
      this.#deadline(timeoutMs),
      (e) => ({ ring: e.applyRing(ring) }),
      rejected,
      this.#signal(),
    );
    if ('err' in out) throw out.err;
    return out.ring;
  }

  async flush(to: string, prefix: string, timeoutMs: number, fence?: number): Promise<number> {
    const out = await this.#net.call<{ deleted: number } | { err: RingCacheError }>(
      this.#self,
      to,
      this.#deadline(timeoutMs),
      (e) => ({ deleted: e.flush(prefix, fence) }),
      rejected,
      this.#signal(),
    );
    if ('err' in out) throw out.err;
    return out.deleted;
  }

  async proposeRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState> {
    const out = await this.#net.call<{ ring: RingState } | { err: RingCacheError }>(
      this.#self,
      to,
      this.#deadline(timeoutMs),
      (e) => ({ ring: e.proposeRing(ring) }),
      rejected,
      this.#signal(),
    );
    if ('err' in out) throw out.err;
    return out.ring;
  }

  forget(): void {}

  close(): void {
    this.#closed.abort();
  }

  #signal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#closed.signal]) : this.#closed.signal;
  }

  #deadline(timeoutMs: number): number {
    return this.#net.nowOf(this.#self) + timeoutMs;
  }
}
