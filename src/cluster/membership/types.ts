/**
 * Types of SWIM-style membership (DESIGN.md "Failure"). The transport is an interface so the
 * state machine can be unit-tested with an in-memory wiring; the server binds it to the Peer
 * service's Ping and PingReq RPCs (src/cluster/gossip-transport.ts).
 */

/**
 * - alive: answers probes (directly or through another member).
 * - suspect: missed a direct and an indirect probe; still gets traffic until the suspicion timeout.
 * - dead: not refuted within the suspicion timeout; probed now and then so a restart is noticed.
 * - left: said goodbye on purpose; sticky until it rejoins with a higher incarnation.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What gossip carries: one member's state at one incarnation. Merged by precedence.ts. */
export interface MemberUpdate {
  id: string;
  state: MemberState;
  incarnation: number;
}

export interface MemberSnapshot {
  id: string;
  state: MemberState;
  incarnation: number;
  /** Scheduler time (ms) at which `state` was entered; incarnation-only changes keep it. */
  stateChangedAtMs: number;
}

/** Defaults and their trade-offs: config.ts (DEFAULT_GOSSIP_CONFIG). */
export interface GossipConfig {
  /** Milliseconds between probe starts; a round over n members takes about n-1 intervals. */
  probeIntervalMs: number;
  /** Milliseconds to wait for a direct ack before asking `indirectProbes` others to try. */
  probeTimeoutMs: number;
  /** Members asked to ping the target on our behalf (SWIM's k); 0 disables indirect probes. */
  indirectProbes: number;
  /** Milliseconds a suspect has to refute before it is declared dead. */
  suspicionTimeoutMs: number;
}

export interface GossipTransport {
  /** Direct ping; resolves with the target's piggybacked updates, rejects on timeout/error. Must respect signal. */
  ping(target: string, updates: MemberUpdate[], signal: AbortSignal): Promise<MemberUpdate[]>;
  /** Ask `via` to ping `target`; resolves {ack, updates}. */
  pingReq(
    via: string,
    target: string,
    updates: MemberUpdate[],
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }>;
}

/** Clock and timers, injected so tests drive time by hand. Default: realScheduler (scheduler.ts). */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
