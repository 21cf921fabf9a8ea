import { compareVersions, formatVersion, type Version } from '../../src/store/version';
import type { Checker } from './checkers';
import type { HistoryEntry, Violation } from './history';

type AckedWrite = HistoryEntry & { version: Version; completedAtMs: number };

function isAckedWrite(e: HistoryEntry): e is AckedWrite {
  if (e.status !== 'ok' || e.version === undefined || e.completedAtMs === undefined) return false;
  if (e.kind === 'set') return e.stored !== false;
  return e.kind === 'cas' || e.kind === 'incr' || e.kind === 'delete';
}

/**
 * Promise 1 as users read it: a write sent more than `boundMs` (cluster.max_clock_offset_ms) after
 * another write of the same key was acknowledged is never replaced by it. The other checkers order
 * writes by version, the order the cluster chose, so they cannot see a clock that put an earlier
 * write above a later one; this one orders them by the history's own clock (the simulator's world
 * time), which no node's skew touches.
 *
 * The key's final value is the write whose version the final read returned (for a final "not found":
 * any acknowledged delete of the key). It is wrong when every such write A has a later acknowledged
 * write B of the key, with another outcome, sent more than `boundMs` after A was acknowledged: B
 * should have won. A write sent sooner than that may be concurrent with A, in either order.
 */
export function realTimeOrder(boundMs: number): Checker {
  return (history, final) => {
    const violations: Violation[] = [];
    const writes = history.filter(isAckedWrite);
    for (const [key, read] of final.reads) {
      const ofKey = writes.filter((w) => w.key === key);
      const winners = read.found
        ? ofKey.filter((w) => read.version !== undefined && compareVersions(w.version, read.version) === 0)
        : ofKey.filter((w) => w.kind === 'delete');
      if (winners.length === 0) continue; // no acknowledged write to blame: other checkers' business
      const supersededBy = (a: AckedWrite): AckedWrite | undefined =>
        ofKey.find(
          (b) =>
            b !== a &&
            b.invokedAtMs > a.completedAtMs + boundMs &&
            (read.found ? compareVersions(b.version, a.version) !== 0 : b.kind !== 'delete'),
        );
      const a = winners[0]!;
      const b = supersededBy(a);
      if (!b || winners.some((w) => supersededBy(w) === undefined)) continue;
      violations.push({
        checker: 'realTimeOrder',
        key,
        message:
          `final value is ${a.kind} #${a.id} (${formatVersion(a.version)}, acknowledged at ${a.completedAtMs} ms), ` +
          `though ${b.kind} #${b.id} (${formatVersion(b.version)}) was sent at ${b.invokedAtMs} ms, ` +
          `more than the clock bound of ${boundMs} ms later`,
      });
    }
    return violations;
  };
}
