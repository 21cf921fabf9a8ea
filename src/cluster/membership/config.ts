import { RingCacheError } from '../../errors';
import type { GossipConfig } from './types';

/**
 * Tuned to declare a SIGKILLed node dead within about 3 s on loopback or a LAN.
 * - probeIntervalMs 500: each member probes one other per interval, so a 3-node cluster probes every
 *   member about once a second; shorter intervals cost more pings, longer ones slow detection linearly.
 * - probeTimeoutMs 300: generous for a LAN round trip (< 1 ms) yet short enough that a failed probe
 *   (direct 300 + indirect 300, see suspicion.ts indirectWaitMs) fits in little more than an interval.
 * - indirectProbes 2: a member unreachable from us but reachable from others (asymmetric link, our own
 *   stall) is not suspected; SWIM's k, memberlist's IndirectChecks is 3.
 * - suspicionTimeoutMs 1500: time a paused or overloaded member has to refute. Lower detects sooner but
 *   kills members on a GC pause; memberlist's LAN default works out to about 5 s for small clusters.
 * Worst case for 3 members: 500 + 500 + 600 + 1500 = 3100 ms (suspicion.ts worstCaseDetectionMs);
 * typically faster, since every survivor probes the victim and the first suspicion wins.
 */
export const DEFAULT_GOSSIP_CONFIG: Readonly<GossipConfig> = Object.freeze({
  probeIntervalMs: 500,
  probeTimeoutMs: 300,
  indirectProbes: 2,
  suspicionTimeoutMs: 1500,
});

/** Most updates piggybacked on one ping or ack; the rest wait for later messages (least-sent first). */
export const MAX_UPDATES_PER_MESSAGE = 16;

/**
 * Every this many probe ticks a random dead member is pinged too (every 2 s at the defaults), so a
 * restarted node is seen alive again even if it never gossips first: our ping tells it we hold it dead,
 * it refutes with a higher incarnation in its ack.
 */
export const DEAD_PROBE_EVERY_TICKS = 4;

/** Throws CONFIG_INVALID naming the field when a knob would break the probe loop. */
export function validateGossipConfig(cfg: GossipConfig): void {
  const positive: (keyof GossipConfig)[] = ['probeIntervalMs', 'probeTimeoutMs', 'suspicionTimeoutMs'];
  for (const field of positive) {
    const value = cfg[field];
    if (!Number.isFinite(value) || value <= 0) {
      throw new RingCacheError(
        'CONFIG_INVALID',
        `gossip.${field} is ${value}; it must be a positive number of milliseconds`,
      );
    }
  }
  if (!Number.isInteger(cfg.indirectProbes) || cfg.indirectProbes < 0) {
    throw new RingCacheError(
      'CONFIG_INVALID',
      `gossip.indirectProbes is ${cfg.indirectProbes}; it must be a whole number >= 0`,
    );
  }
}
