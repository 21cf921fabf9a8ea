import type { Logger } from 'pino';
import { BroadcastQueue, retransmitLimit } from './broadcast-queue';
import { DEAD_PROBE_EVERY_TICKS, MAX_UPDATES_PER_MESSAGE, validateGossipConfig } from './config';
import { withDeadline } from './deadline';
import {
  allowedFrom,
  applyUpdate,
  incarnationInBounds,
  needsRefutation,
  refutingIncarnation,
  type MemberVersion,
} from './precedence';
import { pickRandom, ProbeOrder } from './probe-order';
import { realScheduler } from './scheduler';
import { indirectWaitMs, remainingSuspicionMs } from './suspicion';
import type {
  GossipConfig,
  GossipTransport,
  MemberSnapshot,
  MemberState,
  MemberUpdate,
  Scheduler,
} from './types';

type ChangeListener = (m: MemberSnapshot, from: MemberState, to: MemberState) => void;

export interface MembershipOptions {
  selfId: string;
  /** Every member known at start, self included or not; all start alive at incarnation 0. */
  memberIds: readonly string[];
  config: GossipConfig;
  transport: GossipTransport;
  logger: Logger;
  /** Default: real timers, unref()'d (scheduler.ts). */
  scheduler?: Scheduler;
  /** Default Math.random; tests pass a seeded generator. */
  random?: () => number;
  /**
   * Our incarnation at start. Default: scheduler.now() in whole ms, so a restarted node outbids
   * whatever the cluster remembers about its previous life (even 'dead' or 'left') without knowing it.
   */
  initialIncarnation?: number;
  /** Called for each update refused for its incarnation (precedence.ts incarnationInBounds): a metric. */
  onUpdateRefused?: () => void;
}

/**
 * SWIM failure detection and gossip for one node (memberlist's state.go): probe one member per
 * interval, ask others to try on a timeout, suspect, declare dead after the suspicion timeout, and
 * piggyback membership updates on every ping and ack. The merge rules are pure (precedence.ts);
 * this class owns the timers, the probe loop and the single transition function.
 */
export class Membership {
  readonly #self: string;
  readonly #cfg: GossipConfig;
  readonly #transport: GossipTransport;
  readonly #log: Logger;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #members = new Map<string, MemberSnapshot>();
  readonly #queue: BroadcastQueue;
  readonly #order: ProbeOrder;
  readonly #listeners = new Set<ChangeListener>();
  readonly #suspicionTimers = new Map<string, unknown>();
  /** Dead-member probes and relayed pings: not part of the loop, but stop() awaits them too. */
  readonly #background = new Set<Promise<void>>();
  #running = false;
  #leaving = false;
  #abort = new AbortController();
  #timer: unknown;
  #inFlight: Promise<void> = Promise.resolve();
  #ticks = 0;
  #updatesRefused = 0;
  readonly #onRefused: () => void;

  constructor(opts: MembershipOptions) {
    validateGossipConfig(opts.config);
    this.#self = opts.selfId;
    this.#cfg = { ...opts.config };
    this.#transport = opts.transport;
    this.#log = opts.logger;
    this.#scheduler = opts.scheduler ?? realScheduler;
    this.#random = opts.random ?? Math.random;
    this.#queue = new BroadcastQueue(opts.selfId);
    this.#order = new ProbeOrder(this.#random);
    this.#onRefused = opts.onUpdateRefused ?? (() => undefined);
    const now = this.#scheduler.now();
    for (const id of opts.memberIds)
      this.#members.set(id, { id, state: 'alive', incarnation: 0, stateChangedAtMs: now });
    const incarnation = opts.initialIncarnation ?? Math.floor(now);
    this.#members.set(this.#self, { id: this.#self, state: 'alive', incarnation, stateChangedAtMs: now });
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    // Announce ourselves: after a restart the cluster may hold us dead at an older incarnation.
    this.#queue.enqueue(this.#selfUpdate());
    for (const m of this.#members.values()) if (m.state === 'suspect') this.#armSuspicion(m);
    this.#arm(this.#random() * this.#cfg.probeIntervalMs); // stagger: no lockstep probing across nodes
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const handle of this.#suspicionTimers.values()) this.#scheduler.clearTimeout(handle);
    this.#suspicionTimers.clear();
    this.#abort.abort();
    // #tick and the background tasks catch and log; these never reject.
    await this.#inFlight;
    await Promise.all([...this.#background]);
  }

  handlePing(from: string, updates: MemberUpdate[]): MemberUpdate[] {
    this.#merge(updates);
    return this.#outgoing(from);
  }

  handlePingReq(
    from: string,
    target: string,
    updates: MemberUpdate[],
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    this.#merge(updates);
    const relayed = this.#ping(target, this.#cfg.probeTimeoutMs, this.#abort.signal).then(
      () => true,
      () => false,
    );
    this.#track(relayed.then(() => undefined));
    return relayed.then((ack) => ({ ack, updates: this.#outgoing(from) }));
  }

  state(id: string): MemberState | undefined {
    return this.#members.get(id)?.state;
  }

  /** One member's state and incarnation; undefined for a member not heard of. */
  member(id: string): MemberSnapshot | undefined {
    const m = this.#members.get(id);
    return m && { ...m };
  }

  isAlive(id: string): boolean {
    const s = this.state(id);
    return s === 'alive' || s === 'suspect';
  }

  members(): MemberSnapshot[] {
    return [...this.#members.values()].map((m) => ({ ...m }));
  }

  /**
   * Called after every accepted change of any member, self included, synchronously and in order:
   * state changes and incarnation bumps (then from === to). A member first heard of arrives as
   * 'left' -> 'alive' (it was not a member). A throwing listener is logged and does not stop the rest.
   */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The ring's members changed (a join or a leave): probe exactly these from now on. New members start
   * alive at incarnation 0 (their own gossip soon raises it); removed ones are forgotten.
   */
  setMembers(ids: readonly string[]): void {
    const now = this.#scheduler.now();
    for (const id of ids) {
      if (!this.#members.has(id))
        this.#members.set(id, { id, state: 'alive', incarnation: 0, stateChangedAtMs: now });
    }
    for (const id of [...this.#members.keys()]) {
      if (id === this.#self || ids.includes(id)) continue;
      this.#clearSuspicion(id);
      this.#members.delete(id);
    }
  }

  leave(): void {
    if (this.#leaving) return;
    this.#leaving = true;
    const me = this.#selfMember();
    // left(i) beats alive/suspect/dead(i) everywhere, so our current incarnation is enough.
    this.#transition(this.#self, { state: 'left', incarnation: me.incarnation }, 'leave');
    this.#queue.enqueue(this.#selfUpdate());
  }

  // ---- merge and transitions ----

  /** Updates refused because their incarnation was out of bounds (they changed nothing). */
  get updatesRefused(): number {
    return this.#updatesRefused;
  }

  #merge(updates: readonly MemberUpdate[]): void {
    for (const u of updates) {
      // Precedence ignores these too; refused here so they are counted, and never refuted.
      if (!incarnationInBounds(u)) {
        this.#updatesRefused++;
        this.#onRefused();
        continue;
      }
      if (u.id === this.#self) this.#answerAboutSelf(u);
      else this.#accept(u, 'gossip');
    }
  }

  /** Applies `u` if precedence allows it and queues it for further gossip; false when ignored. */
  #accept(u: MemberUpdate, cause: string): boolean {
    const next = applyUpdate(this.#members.get(u.id), u);
    if (!next || !this.#transition(u.id, next, cause)) return false;
    this.#queue.enqueue({ id: u.id, ...next });
    return true;
  }

  /** SWIM refutation: outbid an accusation about us; while leaving, re-assert 'left' instead. */
  #answerAboutSelf(u: MemberUpdate): void {
    const me = this.#selfMember();
    if (!needsRefutation(u, me.incarnation, this.#leaving)) return;
    const state = this.#leaving ? 'left' : 'alive';
    const incarnation = refutingIncarnation(me.incarnation, u.incarnation, state);
    this.#log.info({ accusation: u, incarnation }, 'refuting membership update about self');
    this.#transition(this.#self, { state, incarnation }, `refute ${u.state}`);
    this.#queue.enqueue(this.#selfUpdate());
  }

  /**
   * The one place a member's state or incarnation changes. Refuses starting states the precedence
   * table does not allow (a bug if it happens), keeps stateChangedAtMs for incarnation-only changes
   * (a suspect's deadline is not extended by a newer accusation), arms or clears the suspicion timer,
   * logs `from -> to`, then notifies listeners.
   */
  #transition(id: string, next: MemberVersion, cause: string): boolean {
    const existing = this.#members.get(id);
    const m = existing ?? {
      id,
      state: 'left' as MemberState,
      incarnation: -1,
      stateChangedAtMs: this.#scheduler.now(),
    };
    const from = m.state;
    if (existing && !allowedFrom[next.state].includes(from)) {
      this.#log.error({ member: id, from, to: next.state, cause }, 'refused membership transition');
      return false;
    }
    if (existing && from === next.state && m.incarnation === next.incarnation) return false;
    m.incarnation = next.incarnation;
    if (from !== next.state || !existing) {
      m.state = next.state;
      m.stateChangedAtMs = this.#scheduler.now();
    }
    this.#members.set(id, m);
    if (next.state === 'suspect' && from !== 'suspect') this.#armSuspicion(m);
    if (next.state !== 'suspect') this.#clearSuspicion(id);
    this.#log.info({ member: id, incarnation: m.incarnation, cause }, `${from} -> ${next.state}`);
    const snapshot = { ...m };
    for (const listener of this.#listeners) {
      try {
        listener(snapshot, from, next.state);
      } catch (err) {
        this.#log.error({ err, member: id }, 'membership listener threw');
      }
    }
    return true;
  }

  #armSuspicion(m: MemberSnapshot): void {
    if (!this.#running || m.id === this.#self) return; // stop() must leave no timers; start() re-arms
    this.#clearSuspicion(m.id);
    const armedAt = m.stateChangedAtMs;
    const delayMs = remainingSuspicionMs(armedAt, this.#scheduler.now(), this.#cfg.suspicionTimeoutMs);
    const handle = this.#scheduler.setTimeout(() => {
      // One more turn of the event loop first (withDeadline says why): a refutation that reached a
      // busy node in time is read before the suspect is declared dead.
      this.#suspicionTimers.set(
        m.id,
        this.#scheduler.setTimeout(() => {
          this.#suspicionTimers.delete(m.id);
          // A refutation or a newer suspicion may have come in since this timer was armed.
          const cur = this.#members.get(m.id);
          if (cur?.state === 'suspect' && cur.stateChangedAtMs === armedAt) {
            this.#accept({ id: cur.id, state: 'dead', incarnation: cur.incarnation }, 'suspicion timeout');
          }
        }, 0),
      );
    }, delayMs);
    this.#suspicionTimers.set(m.id, handle);
  }

  #clearSuspicion(id: string): void {
    const handle = this.#suspicionTimers.get(id);
    if (handle === undefined) return;
    this.#scheduler.clearTimeout(handle);
    this.#suspicionTimers.delete(id);
  }

  // ---- probe loop ----

  #arm(delayMs: number): void {
    const signal = this.#abort.signal;
    this.#timer = this.#scheduler.setTimeout(() => {
      this.#timer = undefined;
      const startedAt = this.#scheduler.now();
      this.#inFlight = this.#tick(signal).finally(() => {
        // Checking the signal too: a stop() then start() during this tick owns the loop now.
        if (!this.#running || signal.aborted) return;
        this.#arm(Math.max(0, this.#cfg.probeIntervalMs - (this.#scheduler.now() - startedAt)));
      });
    }, delayMs);
  }

  async #tick(signal: AbortSignal): Promise<void> {
    this.#ticks += 1;
    if (this.#ticks % DEAD_PROBE_EVERY_TICKS === 0) this.#probeDead(signal);
    const target = this.#order.next(this.#idsWhere((s) => s === 'alive' || s === 'suspect'));
    if (target === undefined) return;
    try {
      await this.#probe(target, signal);
    } catch (err) {
      this.#log.error({ err, target }, 'probe failed unexpectedly');
    }
  }

  /** Direct ping, then k indirect pings, then suspicion: one SWIM protocol period for `target`. */
  async #probe(target: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#ping(target, this.#cfg.probeTimeoutMs, signal);
      return;
    } catch {
      if (signal.aborted) return;
    }
    if (await this.#probeIndirect(target, signal)) return;
    if (signal.aborted) return;
    const m = this.#members.get(target);
    if (m?.state !== 'alive') return; // already suspect (its timer runs) or changed meanwhile
    this.#log.warn({ member: target }, 'no direct or indirect ack; suspecting');
    this.#accept({ id: target, state: 'suspect', incarnation: m.incarnation }, 'probe failed');
  }

  async #probeIndirect(target: string, signal: AbortSignal): Promise<boolean> {
    const relays = pickRandom(
      this.#idsWhere((s) => s === 'alive').filter((id) => id !== target),
      this.#cfg.indirectProbes,
      this.#random,
    );
    if (relays.length === 0) return false;
    const waitMs = indirectWaitMs(this.#cfg);
    const attempts = relays.map((via) =>
      withDeadline(this.#scheduler, waitMs, signal, (s) =>
        this.#transport.pingReq(via, target, this.#outgoing(target), s),
      ).then((res) => {
        this.#merge(res.updates);
        if (!res.ack) throw new Error(`${via} got no ack from ${target}`);
      }),
    );
    try {
      await Promise.any(attempts);
      return true;
    } catch {
      return false;
    }
  }

  /** A direct ping whose ack updates are merged; rejects on timeout, error or stop. */
  async #ping(target: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const updates = await withDeadline(this.#scheduler, timeoutMs, signal, (s) =>
      this.#transport.ping(target, this.#outgoing(target), s),
    );
    this.#merge(updates);
  }

  /** Pings one random dead member: if it restarted, our ping tells it so and its ack refutes. */
  #probeDead(signal: AbortSignal): void {
    const [target] = pickRandom(
      this.#idsWhere((s) => s === 'dead'),
      1,
      this.#random,
    );
    if (target === undefined) return;
    this.#track(this.#ping(target, this.#cfg.probeTimeoutMs, signal).catch(() => undefined));
  }

  // ---- helpers ----

  /**
   * Updates for one message to `peer`: first what we believe about the peer when that is not 'alive',
   * so a peer we suspect, hold dead or think left learns it and refutes in its answer (this is how a
   * restarted node that never gossips first comes back); then the broadcast queue.
   */
  #outgoing(peer: string): MemberUpdate[] {
    const out: MemberUpdate[] = [];
    const view = this.#members.get(peer);
    if (view && peer !== this.#self && view.state !== 'alive') {
      out.push({ id: peer, state: view.state, incarnation: view.incarnation });
    }
    const limit = retransmitLimit(this.#members.size);
    const exclude = new Set(out.map((u) => u.id));
    return out.concat(this.#queue.take(MAX_UPDATES_PER_MESSAGE - out.length, limit, exclude));
  }

  #idsWhere(match: (s: MemberState) => boolean): string[] {
    return [...this.#members.values()].filter((m) => m.id !== this.#self && match(m.state)).map((m) => m.id);
  }

  #selfMember(): MemberSnapshot {
    const me = this.#members.get(this.#self);
    if (!me) throw new Error('membership lost its own entry'); // constructor always adds it
    return me;
  }

  #selfUpdate(): MemberUpdate {
    const me = this.#selfMember();
    return { id: me.id, state: me.state, incarnation: me.incarnation };
  }

  #track(task: Promise<void>): void {
    const settled = task.catch((err: unknown) =>
      this.#log.error({ err }, 'membership background task failed'),
    );
    this.#background.add(settled);
    void settled.finally(() => this.#background.delete(settled));
  }
}
