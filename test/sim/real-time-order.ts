import { compareVersions, formatVersion } from '../../src/store/version';
import type { Checker } from './checkers';
import { isAckedWrite, type AckedWrite, type HistoryEntry, type Violation } from './history';

/** An acknowledged write whose answer came within the run: the pair's first write needs it. */
type TimedWrite = AckedWrite & { completedAtMs: number };

const isTimedWrite = (e: HistoryEntry): e is TimedWrite => isAckedWrite(e) && e.completedAtMs !== undefined;

/**
 * A version's wall part is a whole ms of its node's clock, while the history's times are fractional:
 * a write sent just over the bound after another's acknowledgement may be stamped in the same ms.
 */
const STAMP_RESOLUTION_MS = 1;

/**
 * Promise 1 as users read it: a write sent more than `boundMs` (cluster.max_clock_offset_ms) after
 * another write of the same key was acknowledged is never replaced by it. The other checkers order
 * writes by version, the order the cluster chose, so they cannot see a clock that put an earlier
 * write above a later one; this one orders them by the history's own clock (the simulator's world
 * time), which no node's skew touches.
 *
 * A write replaces another when its version is higher (the final value is the highest version a
 * quorum holds, which `lostWrites` checks). So for every two acknowledged writes A and B of a key,
 * with B sent more than `boundMs` after A was acknowledged, B's version must be above A's. Judged
 * on versions alone, whatever the final read met: a later expiry, eviction or write of unknown
 * outcome cannot hide a pair the cluster ordered against real time. A write sent sooner than that
 * may be concurrent with A, in either order. (Touches make versions too, but their results do not
 * carry them: they are not judged.)
 */
export function realTimeOrder(boundMs: number): Checker {
  return (history) => {
    const violations: Violation[] = [];
    const byKey = new Map<string, TimedWrite[]>();
    for (const e of history) {
      if (!isTimedWrite(e)) continue;
      const ofKey = byKey.get(e.key);
      if (ofKey) ofKey.push(e);
      else byKey.set(e.key, [e]);
    }
    for (const [key, writes] of byKey) {
      for (const a of writes) {
        const b = writes.find(
          (w) =>
            w.invokedAtMs > a.completedAtMs + boundMs + STAMP_RESOLUTION_MS &&
            compareVersions(w.version, a.version) <= 0,
        );
        if (!b) continue;
        violations.push({
          checker: 'realTimeOrder',
          key,
          message:
            `${b.kind} #${b.id} (${formatVersion(b.version)}) was sent at ${b.invokedAtMs} ms, more than the ` +
            `clock bound of ${boundMs} ms after ${a.kind} #${a.id} (${formatVersion(a.version)}) was ` +
            `acknowledged at ${a.completedAtMs} ms, yet its version does not replace it`,
        });
      }
    }
    return violations;
  };
}
