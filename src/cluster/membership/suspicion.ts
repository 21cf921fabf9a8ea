/**
 * Suspicion deadline math, kept apart from the timer that enforces it (as memberlist keeps
 * `remainingSuspicionTime` apart from `suspicion.go`'s timer) so it can be table-tested.
 *
 * Each member runs its own suspicion clock from the moment *it* learned of the suspicion, whether
 * by its own failed probe or by gossip. The first member to suspect is the first to declare death
 * and gossip it; the others' clocks only matter if that gossip is lost.
 */

/** Milliseconds left before a suspect entered at `suspectedAtMs` is declared dead; never negative. */
export function remainingSuspicionMs(
  suspectedAtMs: number,
  nowMs: number,
  suspicionTimeoutMs: number,
): number {
  const elapsedMs = nowMs - suspectedAtMs;
  // A clock stepped backwards makes elapsed negative: wait the full timeout rather than longer.
  if (elapsedMs <= 0) return suspicionTimeoutMs;
  return Math.max(0, suspicionTimeoutMs - elapsedMs);
}

/**
 * Worst-case milliseconds from a crash to 'dead' on a quiet cluster of `clusterSize` members:
 * the crash lands just after our probe of it, we probe the other n-2 members first (one per interval),
 * then the probe of the victim fails after its direct and indirect waits, then the suspicion runs out.
 * Other members probe it too, so the typical time is shorter. Used to document the defaults.
 */
export function worstCaseDetectionMs(
  clusterSize: number,
  cfg: { probeIntervalMs: number; probeTimeoutMs: number; suspicionTimeoutMs: number },
): number {
  const othersFirst = Math.max(0, clusterSize - 2) * cfg.probeIntervalMs;
  return othersFirst + cfg.probeIntervalMs + probeBudgetMs(cfg) + cfg.suspicionTimeoutMs;
}

/**
 * How long the indirect phase waits after the direct ping timed out. memberlist waits for the rest of
 * the probe interval; we wait at least one probe timeout so a relay's own ping (bounded by the same
 * probeTimeoutMs) can finish even when the timeout is more than half the interval.
 */
export function indirectWaitMs(cfg: { probeIntervalMs: number; probeTimeoutMs: number }): number {
  return Math.max(cfg.probeIntervalMs - cfg.probeTimeoutMs, cfg.probeTimeoutMs);
}

/** Longest a failed probe takes: direct timeout then indirect wait. */
export function probeBudgetMs(cfg: { probeIntervalMs: number; probeTimeoutMs: number }): number {
  return cfg.probeTimeoutMs + indirectWaitMs(cfg);
}
