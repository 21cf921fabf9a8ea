import { compareVersions, formatVersion, type Version } from '../../src/store/version';
import { wallMsOf } from '../../src/store/hlc';
import { realTimeOrder } from './real-time-order';
import {
  copyKey,
  isAckedWrite,
  type AckedWrite,
  type FinalState,
  type HistoryEntry,
  type ReplicaCopy,
  type Violation,
} from './history';

/**
 * The judges of a simulator run: each checks one promise of DESIGN.md ("The promises") against the
 * recorded history and the state the cluster settled in. They are pure, so a failing run can be
 * replayed against them offline and each can be table-tested with hand-built histories.
 */
export type Checker = (history: readonly HistoryEntry[], final: FinalState) => Violation[];

/**
 * Whether `w` died with its node before `beforeMs`: the node that made it alone acknowledged it
 * (W = 1) and crashed after it made it and before `beforeMs`, and no copy of it had reached another
 * node by then (its copies to them lost, or still on their way). The write lived only in that
 * node's memory, which promises 1 and 2 say it does not outlive. A copy that reached another node
 * (stored, held as a stand-in's hint, or even refused there) is no such loss: losing it from then
 * on is judged as any other, and a read that began after it arrived must see the write.
 */
function diedWithItsNode(w: AckedWrite, beforeMs: number, final: FinalState): boolean {
  if (w.required !== 1) return false;
  const copy = final.copies?.get(copyKey(w.key, w.version));
  if (copy?.copiedAtMs !== undefined && copy.copiedAtMs < beforeMs) return false;
  // A crash of an earlier incarnation, before this version existed, took nothing of it.
  const madeAtMs = Math.max(w.invokedAtMs, copy?.madeAtMs ?? w.invokedAtMs);
  return (final.crashes ?? []).some(
    (c) => c.node === w.version.node && c.atMs >= madeAtMs && c.atMs < beforeMs,
  );
}

/**
 * Whether some node evicted `key`'s value for room between `fromMs` and `toMs` (promise 8): a cache
 * forgets under memory pressure, so what the value's loss explains is no violation there: a read or
 * a final read that finds nothing, or an older value that a replica which missed the newer write
 * still held, replicas that differ, a counter that lost increments or starts over, a second
 * ifAbsent that stored. A delete undone is excused only as deleteLetGo says; a value read that was
 * never written, or an increment counted twice, are judged as anywhere else.
 */
function evictedBetween(final: FinalState, key: string, fromMs: number, toMs: number): boolean {
  return (final.evictions ?? []).some((e) => e.key === key && e.atMs >= fromMs && e.atMs <= toMs);
}

/**
 * Whether a read that ended at `toMs` may have missed delete `d` for a reason promise 8 allows: some
 * node let go of its tombstone, or evicted a value newer than it (which had replaced the tombstone
 * there), so that node answered "nothing", and a replica that missed the delete its older value.
 */
function deleteLetGo(final: FinalState, d: HistoryEntry, toMs: number): boolean {
  const version = d.version;
  if (version === undefined) return false;
  const newerEvicted = (final.evictions ?? []).some(
    (e) =>
      e.key === d.key && e.atMs <= toMs && e.version !== undefined && compareVersions(e.version, version) > 0,
  );
  return newerEvicted || tombstoneDropped(final, d, toMs);
}

/**
 * Whether some node let go of the tombstone that write `d` left (its key, its version) within its
 * grace, before `toMs` (promise 8; "Limits" in the README): a delete's, or that of a value whose
 * time to live ran out. A store full of live values keeps none for a key it does not hold, and a
 * new tombstone takes the room of the oldest. Only the replicas that kept it hold the delete (or
 * expiry) then, and a read that counts one that kept none and one that missed it, and no other,
 * returns the older value that one still holds: no violation there.
 */
function tombstoneDropped(final: FinalState, d: HistoryEntry, toMs: number): boolean {
  const version = d.version;
  return (
    version !== undefined &&
    (final.droppedTombstones ?? []).some(
      (e) => e.key === d.key && e.atMs <= toMs && compareVersions(e.version, version) === 0,
    )
  );
}

function byKey<T extends HistoryEntry>(entries: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const e of entries) {
    const group = groups.get(e.key);
    if (group) group.push(e);
    else groups.set(e.key, [e]);
  }
  return groups;
}

function newest(writes: readonly AckedWrite[]): AckedWrite | undefined {
  let best: AckedWrite | undefined;
  for (const w of writes) if (!best || compareVersions(w.version, best.version) > 0) best = w;
  return best;
}

/** A missing version (a found value recorded without one) counts as older than any, so it is reported. */
function isOlder(v: Version | undefined, than: Version): boolean {
  return v === undefined || compareVersions(v, than) < 0;
}

function describeVersion(v: Version | undefined): string {
  return v === undefined ? 'a value without a version' : formatVersion(v);
}

/** `set #37 (1700000100@n3, W=2)`: how messages name a write. */
function describeWrite(w: AckedWrite): string {
  return `${w.kind} #${w.id} (${formatVersion(w.version)}, W=${w.required})`;
}

/**
 * Whether the record `w` wrote may have expired by `atMs`: its own time to live may have run out
 * (counted from its invocation, the earliest it can have been applied), or a touch that may have
 * come after it (any status but failed) gave it one that may have.
 */
function mayHaveExpired(
  w: HistoryEntry,
  atMs: number,
  ops: readonly HistoryEntry[],
  slackMs: number,
): boolean {
  atMs += slackMs; // a node whose clock runs ahead expires values that much early
  if (w.ttlMs && atMs >= w.invokedAtMs + w.ttlMs) return true;
  return ops.some(
    (t) =>
      t.kind === 'touch' &&
      t.status !== 'failed' &&
      t.ttlMs !== undefined &&
      t.ttlMs > 0 &&
      (t.completedAtMs === undefined || t.completedAtMs > w.invokedAtMs) &&
      atMs >= t.invokedAtMs + t.ttlMs,
  );
}

/** Promise 1: after faults heal, a quorum read returns the newest acknowledged write or a newer one. */
export const lostWrites: Checker = (history, final) => {
  const violations: Violation[] = [];
  const kept = history.filter(isAckedWrite).filter((w) => !diedWithItsNode(w, Infinity, final));
  for (const [key, writes] of byKey(kept)) {
    const w = newest(writes);
    if (!w) continue;
    const read = final.reads.get(key);
    const report = (message: string) => violations.push({ checker: 'lostWrites', key, message });
    if (!read) {
      report(`no final read, though ${describeWrite(w)} was acknowledged`);
    } else if (w.kind === 'delete') {
      // Not found is the delete itself; found newer is a later write that raced it and won (it may be
      // one that timed out, so it is not in `writes`). Found at or below the delete's version is an
      // older value that came back.
      if (
        read.found &&
        (read.version === undefined || compareVersions(read.version, w.version) <= 0) &&
        !deleteLetGo(final, w, Number.POSITIVE_INFINITY)
      ) {
        report(`final read returned ${describeVersion(read.version)}, not newer than ${describeWrite(w)}`);
      }
    } else if (!read.found) {
      // A delete whose outcome is unknown (its node crashed before answering) may have been applied
      // with a newer version than w: then nothing is the right answer; so may a time to live that
      // ran out, w's own or a newer write's.
      if (
        !mayHaveRemoved(
          Number.POSITIVE_INFINITY,
          w,
          history.filter((e) => e.key === key),
          0,
        ) &&
        !evictedBetween(final, key, w.invokedAtMs, Number.POSITIVE_INFINITY)
      ) {
        report(`final read found nothing, though ${describeWrite(w)} was the newest acknowledged write`);
      }
    } else if (
      isOlder(read.version, w.version) &&
      !evictedBetween(final, key, w.invokedAtMs, Number.POSITIVE_INFINITY) &&
      !tombstoneDropped(final, w, Number.POSITIVE_INFINITY)
    ) {
      report(`final read returned ${describeVersion(read.version)}, older than ${describeWrite(w)}`);
    }
  }
  return violations;
};

/** Promise 2: a value older than an acknowledged delete never comes back. */
export const deletesUndone: Checker = (history, final) => {
  const violations: Violation[] = [];
  for (const d of history.filter(isAckedWrite)) {
    if (d.kind !== 'delete' || diedWithItsNode(d, Infinity, final)) continue;
    const read = final.reads.get(d.key);
    // A missing final read is lostWrites' to report; here only a resurrected value counts.
    if (
      read?.found &&
      read.version !== undefined &&
      compareVersions(read.version, d.version) < 0 &&
      !deleteLetGo(final, d, Number.POSITIVE_INFINITY)
    ) {
      violations.push({
        checker: 'deletesUndone',
        key: d.key,
        message: `final read returned ${formatVersion(read.version)}, older than ${describeWrite(d)}`,
      });
    }
  }
  return violations;
};

/**
 * Each replica's copy as a comparable label. A tombstone counts as absent: replicas purge tombstones at
 * different times (each from its own clock and grace period), so "tombstone" and "nothing" are the same
 * settled state. A tombstone still shows its version in the message, to help tell the two apart.
 */
function holding(copy: ReplicaCopy): { label: string; detail: string } {
  if (copy.version === undefined) return { label: 'absent', detail: 'nothing' };
  if (copy.tombstone)
    return { label: 'absent', detail: `nothing (tombstone ${formatVersion(copy.version)})` };
  const v = formatVersion(copy.version);
  return { label: v, detail: v };
}

/** Promise 3: once the cluster is quiet, every replica of a key holds the same newest version. */
export const convergence: Checker = (_history, final) => {
  const violations: Violation[] = [];
  for (const [key, copies] of final.replicas) {
    const labels = new Set(copies.map((c) => holding(c).label));
    if (labels.size <= 1 || evictedBetween(final, key, 0, Number.POSITIVE_INFINITY)) continue;
    const held = copies.map((c) => `${c.node} holds ${holding(c).detail}`).join(', ');
    violations.push({ checker: 'convergence', key, message: `replicas differ: ${held}` });
  }
  return violations;
};

/** The SDK's `incr(key, delta = 1)`: an entry recorded without a delta added one. */
function deltaOf(e: HistoryEntry): number {
  return e.delta ?? 1;
}

function sumDeltas(entries: readonly HistoryEntry[]): number {
  return entries.reduce((sum, e) => sum + deltaOf(e), 0);
}

/** `5 acknowledged (incr #1, #2)`: a bound and the increments it sums. */
function describeSum(sum: number, label: string, incrs: readonly HistoryEntry[]): string {
  const ids = incrs.map((e) => `#${e.id}`).join(', ');
  return incrs.length === 0 ? `${sum} ${label}` : `${sum} ${label} (incr ${ids})`;
}

/**
 * Promise 4, increments: every acknowledged incr counts once, and an unknown one at most once. So the
 * final counter lies between the acknowledged sum and that sum plus every unknown delta, and, the
 * deltas being positive, no two acknowledged increments returned the same value. Only keys the
 * workload never sets, deletes or cas-es are judged: any of those resets the counter.
 */
export const increments: Checker = (history, final) => {
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    if (ops.some((e) => e.kind === 'set' || e.kind === 'delete' || e.kind === 'cas')) continue;
    const incrs = ops.filter((e) => e.kind === 'incr');
    if (incrs.length === 0) continue;
    const acked = incrs.filter((e) => e.status === 'ok');
    const unknown = incrs.filter((e) => e.status === 'unknown');
    const low = sumDeltas(acked);
    const high = low + sumDeltas(unknown);
    const counter = final.counters.get(key) ?? 0;
    const report = (message: string) => violations.push({ checker: 'increments', key, message });
    if (incrs.every((e) => deltaOf(e) > 0)) {
      const byValue = new Map<number, HistoryEntry>();
      for (const e of acked) {
        if (e.counter === undefined) continue;
        const first = byValue.get(e.counter);
        if (first === undefined) byValue.set(e.counter, e);
        // An evicted counter counts on from an older copy, or from zero, so a value it had may come
        // again (promise 8): only after an eviction between the two.
        else if (!evictedBetween(final, key, first.invokedAtMs, e.completedAtMs ?? Number.POSITIVE_INFINITY))
          report(`incr #${first.id} and #${e.id} both returned ${e.counter}`);
      }
    }
    if (counter < low && !evictedBetween(final, key, 0, Number.POSITIVE_INFINITY)) {
      const bound = describeSum(low, 'acknowledged', acked);
      report(
        `final counter ${counter} is ${low - counter} below the ${bound}: an acknowledged increment was lost`,
      );
    } else if (counter > high) {
      const bounds = `${describeSum(low, 'acknowledged', acked)} + ${describeSum(high - low, 'unknown', unknown)}`;
      report(
        `final counter ${counter} is ${counter - high} above the most possible ${high} = ${bounds}: an increment counted twice`,
      );
    }
  }
  return violations;
};

/** Promise 4, cas: at most one cas succeeds per expected version, since the first moves the version on. */
export const casOnce: Checker = (history) => {
  const violations: Violation[] = [];
  const winners = new Map<string, { key: string; expected: Version; ids: number[] }>();
  for (const e of history) {
    if (e.kind !== 'cas' || e.status !== 'ok' || e.expected === undefined) continue;
    // JSON of the key too: keys are arbitrary strings, so no separator is safe.
    const slot = JSON.stringify([e.key, e.expected.timestamp, e.expected.node]);
    const winner = winners.get(slot);
    if (winner) winner.ids.push(e.id);
    else winners.set(slot, { key: e.key, expected: e.expected, ids: [e.id] });
  }
  for (const { key, expected, ids } of winners.values()) {
    if (ids.length < 2) continue;
    const named = ids.map((id) => `#${id}`).join(', ');
    const message = `cas ${named} all succeeded on expected version ${formatVersion(expected)}`;
    violations.push({ checker: 'casOnce', key, message });
  }
  return violations;
};

/**
 * The writes a get must see: acknowledged before the get was invoked (so not concurrent with it), on a
 * quorum that strictly overlaps the get's (W + R > N), so at least one replica the get asked holds it;
 * and counted on a ring no newer than the get's. A get counted on an older ring (its node had not
 * learnt a change yet, nor had any replica it counted, or it would have read again on the new one)
 * is the window promise 5 leaves open while a ring change is being sent out (docs/partitions.md).
 */
function mustSee(get: HistoryEntry, writes: readonly AckedWrite[]): AckedWrite | undefined {
  return newest(
    writes.filter(
      (w) =>
        w.completedAtMs !== undefined &&
        w.completedAtMs < get.invokedAtMs &&
        w.required + get.required > get.factor &&
        !onNewerRing(w, get),
    ),
  );
}

/**
 * Whether something may explain a read that ended at `endMs` finding nothing after `w`: a delete
 * invoked before then and not known to be older than `w`; or such a set or cas with a time to live
 * that may have run out by then (an expired value is a tombstone at its version); or `w`'s own time
 * to live, or a touch's after it (mayHaveExpired). Any status counts but a failure, or a conditional
 * set that stored nothing: a write of unknown outcome may still have reached some replicas, and the
 * read may have read from those.
 */
function mayHaveRemoved(
  endMs: number,
  w: AckedWrite,
  ops: readonly HistoryEntry[],
  slackMs: number,
): boolean {
  const removedLater = ops.some((d) => {
    if (d.invokedAtMs >= endMs || (d.version !== undefined && compareVersions(d.version, w.version) <= 0))
      return false;
    if (d.kind === 'delete') return d.status !== 'failed';
    return (
      (d.kind === 'set' || d.kind === 'cas') &&
      d.status !== 'failed' &&
      !(d.status === 'ok' && d.stored === false) &&
      d.ttlMs !== undefined &&
      d.ttlMs > 0 &&
      endMs + slackMs >= d.invokedAtMs + d.ttlMs
    );
  });
  return removedLater || mayHaveExpired(w, endMs, ops, slackMs);
}

function staleRead(
  get: HistoryEntry,
  w: AckedWrite,
  ops: readonly HistoryEntry[],
  final: FinalState,
): string | undefined {
  const slackMs = final.clockSlackMs ?? 0;
  const read = `${get.kind} #${get.id} at ${get.node} (R=${get.required})`;
  const before = `${w.kind} #${w.id} acknowledged before it (${formatVersion(w.version)}, W=${w.required}, N=${get.factor})`;
  const getEndMs = get.completedAtMs ?? Number.POSITIVE_INFINITY;
  if (
    get.found &&
    isOlder(get.readVersion, w.version) &&
    !(w.kind === 'delete'
      ? deleteLetGo(final, w, getEndMs)
      : tombstoneDropped(final, w, getEndMs) || evictedBetween(final, get.key, w.invokedAtMs, getEndMs))
  ) {
    return `${read} returned ${describeVersion(get.readVersion)}, older than ${before}`;
  }
  if (
    !get.found &&
    w.kind !== 'delete' &&
    !mayHaveRemoved(get.completedAtMs ?? Number.POSITIVE_INFINITY, w, ops, slackMs) &&
    !evictedBetween(final, get.key, w.invokedAtMs, getEndMs)
  ) {
    return `${read} found nothing, though no delete could have removed ${before}, nor a time to live have run out`;
  }
  return undefined;
}

/** Promise 5: with W + R > N, a read returns the latest write acknowledged before it, or a newer one. */
export const staleReads: Checker = (history, final) => {
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    const writes = ops.filter(isAckedWrite);
    for (const get of ops) {
      if (get.kind !== 'get' || get.status !== 'ok') continue;
      const w = mustSee(
        get,
        writes.filter((x) => !diedWithItsNode(x, get.invokedAtMs, final)),
      );
      const message = w && staleRead(get, w, ops, final);
      if (message) violations.push({ checker: 'staleReads', key, message });
    }
  }
  return violations;
};

/**
 * Issue 13 §3: after the heal every running node holds the same ring (epoch and digest), and it
 * keeps every acknowledged join and leave (the schedules change each node at most once).
 */
export const oneRing: Checker = (_history, final) => {
  // Judged: the lowest node and the members of its ring (a node whose join failed, or that left,
  // holds a ring of its own and is no member of the cluster's).
  const reference = final.rings?.[0];
  const rings = (final.rings ?? []).filter((r) => r === reference || reference?.members.includes(r.node));
  const violations: Violation[] = [];
  const first = reference;
  for (const r of rings) {
    if (
      first &&
      (r.epoch !== first.epoch || r.digest !== first.digest || r.members.join() !== first.members.join())
    ) {
      violations.push({
        checker: 'oneRing',
        key: '',
        message: `${r.node} holds ring epoch ${r.epoch} [${r.members.join(' ')}] but ${first.node} holds epoch ${first.epoch} [${first.members.join(' ')}]`,
      });
    }
  }
  for (const change of final.ringChanges ?? []) {
    if (!change.acknowledged || !first) continue;
    const member = first.members.includes(change.node);
    if (member !== (change.kind === 'join')) {
      violations.push({
        checker: 'oneRing',
        key: '',
        message: `the acknowledged ${change.kind} of ${change.node} was undone: the final ring is [${first.members.join(' ')}]`,
      });
    }
  }
  return violations;
};

/** Whether `w` was counted on a newer ring than `e`: the window promise 5 leaves open (mustSee). */
function onNewerRing(w: HistoryEntry, e: HistoryEntry): boolean {
  return e.ringEpoch !== undefined && w.ringEpoch !== undefined && e.ringEpoch < w.ringEpoch;
}

/**
 * What a read returns was written: a value found is one a set or cas of the key wrote (each write of
 * the workload writes a value of its own) and not one whose write failed (it applied nothing), that
 * write was invoked before the read completed, and an acknowledged write is read back with the
 * version it was acknowledged with. A counter's value found at an increment's version is the value
 * that increment returned.
 */
export const readsMatchWrites: Checker = (history) => {
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    const byValue = new Map<string, HistoryEntry>();
    const incrByVersion = new Map<string, HistoryEntry>();
    for (const e of ops) {
      if ((e.kind === 'set' || e.kind === 'cas') && e.value !== undefined) byValue.set(e.value, e);
      if (e.kind === 'incr' && e.status === 'ok' && e.version) incrByVersion.set(formatVersion(e.version), e);
    }
    const counter = ops.some((e) => e.kind === 'incr');
    const report = (message: string) => violations.push({ checker: 'readsMatchWrites', key, message });
    for (const get of ops) {
      if (get.kind !== 'get' || get.status !== 'ok' || !get.found || get.readValue === undefined) continue;
      const read = `get #${get.id} at ${get.node} returned ${JSON.stringify(get.readValue)} (${describeVersion(get.readVersion)})`;
      const w = byValue.get(get.readValue);
      if (w) {
        if (get.completedAtMs !== undefined && w.invokedAtMs > get.completedAtMs)
          report(`${read}, written by ${w.kind} #${w.id} invoked only after the get completed`);
        else if (w.status === 'failed')
          report(`${read}, written by ${w.kind} #${w.id}, which failed ${w.error}`);
        else if (w.kind === 'set' && w.status === 'ok' && w.stored === false)
          report(`${read}, written by set #${w.id} (${w.mode}), which answered that it stored nothing`);
        else if (
          isAckedWrite(w) &&
          (!get.readVersion || compareVersions(w.version, get.readVersion) !== 0) &&
          !touchedSince(w, get, ops) &&
          !completedSince(w, get)
        )
          report(`${read}, but ${describeWrite(w)} wrote it`);
        continue;
      }
      if (counter) {
        const i = get.readVersion && incrByVersion.get(formatVersion(get.readVersion));
        if (i && String(i.counter) !== get.readValue)
          report(`${read}, but incr #${i.id} made that version with the value ${i.counter}`);
        continue;
      }
      report(`${read}, a value no write of the key wrote`);
    }
  }
  return violations;
};

/**
 * Whether `get` may have read `w`'s value as a first round left it, which a retry of `w` completed
 * at a newer version before `w` was answered: `w` is a read-modify-write (a cas, a conditional set)
 * still running when the get began, and the version read is older than the one it was answered.
 */
function completedSince(w: AckedWrite, get: HistoryEntry): boolean {
  const rmw = w.kind === 'cas' || (w.kind === 'set' && w.mode !== undefined);
  return (
    rmw &&
    get.readVersion !== undefined &&
    compareVersions(get.readVersion, w.version) < 0 &&
    (w.completedAtMs === undefined || get.invokedAtMs < w.completedAtMs)
  );
}

/**
 * Whether `get` may have read `w`'s value at a version a touch gave it: the version read is newer
 * than `w`'s, and a touch that found the key (or may have) was invoked before the get completed.
 */
function touchedSince(w: AckedWrite, get: HistoryEntry, ops: readonly HistoryEntry[]): boolean {
  const getEndMs = get.completedAtMs ?? Number.POSITIVE_INFINITY;
  return (
    get.readVersion !== undefined &&
    compareVersions(get.readVersion, w.version) > 0 &&
    ops.some(
      (t) => t.kind === 'touch' && t.status !== 'failed' && t.found !== false && t.invokedAtMs < getEndMs,
    )
  );
}

/**
 * A value is never read after its time to live ran out: a get invoked after the write that stored it
 * with a TTL completed, plus that TTL (the latest it can have expired: its coordinator applied it
 * before answering, and every copy carries that expiry) and the clocks' slack, does not find it,
 * unless a touch that may have come before the get gave the key a longer one (or none).
 */
export const expiredReads: Checker = (history, final) => {
  const slackMs = final.clockSlackMs ?? 0;
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    const expiring = new Map<string, HistoryEntry>();
    for (const e of ops) {
      if ((e.kind === 'set' || e.kind === 'cas') && e.value !== undefined && e.ttlMs)
        expiring.set(e.value, e);
    }
    for (const get of ops) {
      if (get.kind !== 'get' || get.status !== 'ok' || !get.found || get.readValue === undefined) continue;
      const w = expiring.get(get.readValue);
      const appliedByMs = w && appliedBy(w, get);
      if (!w?.ttlMs || appliedByMs === undefined) continue;
      // A node whose clock runs behind expires it that much late.
      const expiredByMs = appliedByMs + w.ttlMs + slackMs;
      if (get.invokedAtMs <= expiredByMs) continue;
      const getEndMs = get.completedAtMs ?? Number.POSITIVE_INFINITY;
      const extended = ops.some(
        (t) =>
          t.kind === 'touch' &&
          t.status !== 'failed' &&
          t.invokedAtMs < getEndMs &&
          (!t.ttlMs ||
            t.completedAtMs === undefined ||
            t.completedAtMs + t.ttlMs + slackMs >= get.invokedAtMs),
      );
      if (extended) continue;
      violations.push({
        checker: 'expiredReads',
        key,
        message: `get #${get.id} at ${get.node}, invoked at ${get.invokedAtMs}, returned ${JSON.stringify(get.readValue)}, which ${w.kind} #${w.id} stored for ${w.ttlMs} ms and so expired by ${expiredByMs}`,
      });
    }
  }
  return violations;
};

/**
 * The latest instant `write` can have been applied at, as far as `read` (which returned its value)
 * shows: an acknowledged write by its acknowledgement; one whose client gave up on it (the
 * simulator's clients, like plain gRPC ones, send no notAfter) may still be applied afterwards by a
 * node that held it, and its time to live then runs from there: no later than the wall millisecond
 * of the version its writer stamped it with, which the read returned.
 */
function appliedBy(write: HistoryEntry, read: HistoryEntry): number | undefined {
  if (write.status === 'ok' || !read.readVersion) return write.completedAtMs;
  const stampedMs = wallMsOf(read.readVersion.timestamp);
  return write.completedAtMs === undefined ? stampedMs : Math.max(write.completedAtMs, stampedMs);
}

/**
 * Promise 4, cas: one that succeeded expected the version that was current, so no write
 * acknowledged before the cas was invoked (on its ring or an older one) has a newer version than
 * the one it expected. Judged against writes whose W replicas must meet the cas's prepare: it reads
 * N - W + 1 (its own W), so a write acknowledged by fewer than that W may not be among them.
 */
export const casCurrent: Checker = (history) => {
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    const writes = ops.filter(isAckedWrite);
    for (const c of ops) {
      if (c.kind !== 'cas' || c.status !== 'ok' || c.expected === undefined) continue;
      const expected = c.expected;
      const newer = writes.find(
        (w) =>
          w !== c &&
          w.completedAtMs !== undefined &&
          w.completedAtMs < c.invokedAtMs &&
          w.required >= c.required &&
          compareVersions(w.version, expected) > 0 &&
          !onNewerRing(w, c),
      );
      if (newer) {
        const message = `cas #${c.id} succeeded expecting ${formatVersion(expected)}, though ${describeWrite(newer)} was acknowledged before it`;
        violations.push({ checker: 'casCurrent', key, message });
      }
    }
  }
  return violations;
};

/**
 * Promise 4, conditional sets: a set with ifAbsent stores only where the key holds no live value, so
 * of two that stored, the later completed after the earlier's value may have gone (getOrSet's
 * lease has one holder at a time). Judged for two that stored, one invoked after the other
 * completed, when nothing can have removed the key before the second completed: no delete (any
 * status but failed: one of unknown outcome may have applied), no time to live that may have run
 * out (the first's own, counted from its invocation less the clocks' slack, or one a later write or
 * touch gave the key). A set without
 * a time to live replaces the value but leaves the key present. Judged, as casCurrent, only where
 * the first's W replicas must meet the second's prepare, and not across a newer ring.
 */
export const ifAbsentOnce: Checker = (history, final) => {
  const slackMs = final.clockSlackMs ?? 0;
  const violations: Violation[] = [];
  for (const [key, ops] of byKey(history)) {
    const stored = ops.filter(
      (e): e is AckedWrite =>
        e.kind === 'set' && e.mode === 'ifAbsent' && e.status === 'ok' && e.stored === true && !!e.version,
    );
    for (const first of stored) {
      if (first.completedAtMs === undefined) continue;
      const firstEnd = first.completedAtMs;
      for (const second of stored) {
        if (second.invokedAtMs <= firstEnd || second.required > first.required || onNewerRing(first, second))
          continue;
        // The second may take effect as late as it completes: by then the first's value must still
        // have been there.
        const secondEnd = second.completedAtMs ?? Number.POSITIVE_INFINITY;
        if (first.ttlMs && secondEnd >= first.invokedAtMs + first.ttlMs - slackMs) continue;
        const removable = ops.some(
          (e) =>
            e !== first &&
            e !== second &&
            e.status !== 'failed' &&
            e.invokedAtMs < secondEnd &&
            (e.completedAtMs ?? Number.POSITIVE_INFINITY) > first.invokedAtMs &&
            (e.kind === 'delete' ||
              ((e.kind === 'set' || e.kind === 'cas' || e.kind === 'touch') && !!e.ttlMs)),
        );
        // An evicted value is no live value either: the lease went with it (promise 8).
        if (removable || evictedBetween(final, key, first.invokedAtMs, secondEnd)) continue;
        violations.push({
          checker: 'ifAbsentOnce',
          key,
          message: `set ifAbsent #${second.id} stored ${JSON.stringify(second.value)} at ${second.node}, invoked at ${second.invokedAtMs}, though ${describeWrite(first)} had stored ${JSON.stringify(first.value)}${first.ttlMs ? ` for ${first.ttlMs} ms` : ''} by ${firstEnd} and nothing since can have removed it`,
        });
      }
    }
  }
  return violations;
};

/** Whether `key` is one a flush `f` deletes. */
function flushes(f: HistoryEntry, key: string): boolean {
  return f.kind === 'flush' && key.startsWith(f.key);
}

/**
 * A flush deletes every key of its prefix, at no one version: the writes before it promise nothing
 * after it, and those during it may or may not survive it. So the other checkers see the writes to
 * a flushed key that began before the end of a flush of it (an unacknowledged flush never ends) as
 * of unknown outcome, and no flush entries; `flushedWrites` judges what a flush promises.
 */
export function aroundFlushes(history: readonly HistoryEntry[]): readonly HistoryEntry[] {
  // A flush refused at once (its node was down) deleted nothing.
  const all = history.filter((e) => e.kind === 'flush' && e.status !== 'failed');
  const rest = history.filter((e) => e.kind !== 'flush');
  if (all.length === 0) return rest;
  const endOf = (f: HistoryEntry) => (f.status === 'ok' ? f.completedAtMs! : Infinity);
  return rest.map((e) =>
    e.kind !== 'get' && e.status === 'ok' && all.some((f) => flushes(f, e.key) && e.invokedAtMs < endOf(f))
      ? { ...e, status: 'unknown' as const }
      : e,
  );
}

/**
 * A flush: once it is acknowledged, no write acknowledged before it began is read again, by any
 * read that starts after it, nor held by any replica at the end. (Writes that overlap it may
 * survive it; writes after it are judged by the other checkers.)
 */
export const flushedWrites: Checker = (history, final) => {
  const violations: Violation[] = [];
  const done = history.filter((f) => f.kind === 'flush' && f.status === 'ok');
  if (done.length === 0) return violations;
  // Per value written, the write that wrote it: every write of the workload writes a distinct value.
  const writers = new Map<string, HistoryEntry>();
  for (const e of history) if (e.value !== undefined && e.status === 'ok') writers.set(e.value, e);
  const flushedBy = (w: HistoryEntry | undefined, key: string, atMs: number) =>
    w === undefined
      ? undefined
      : done.find((f) => flushes(f, key) && w.completedAtMs! < f.invokedAtMs && f.completedAtMs! <= atMs);
  for (const r of history) {
    if (r.kind !== 'get' || r.status !== 'ok' || r.readValue === undefined) continue;
    const w = writers.get(r.readValue);
    const f = flushedBy(w, r.key, r.invokedAtMs);
    if (f) {
      violations.push({
        checker: 'flushedWrites',
        key: r.key,
        message: `get #${r.id} at ${r.node} found ${r.readValue} of ${w!.kind} #${w!.id}, acknowledged before flush #${f.id} of '${f.key}' began`,
      });
    }
  }
  const endMs = Math.max(...history.map((e) => e.completedAtMs ?? e.invokedAtMs));
  for (const [key, copies] of final.replicas) {
    for (const c of copies) {
      if (c.tombstone || c.value === undefined) continue;
      const w = writers.get(c.value);
      const f = flushedBy(w, key, endMs);
      if (f) {
        violations.push({
          checker: 'flushedWrites',
          key,
          message: `${c.node} holds ${c.value} of ${w!.kind} #${w!.id} at the end, acknowledged before flush #${f.id} of '${f.key}' began`,
        });
      }
    }
  }
  return violations;
};

/**
 * The gap past which two writes must be versioned in real-time order: max_clock_offset_ms, or the
 * run's clock spread where that is smaller. Every version is stamped from some node's clock (an
 * HLC never runs ahead of the fastest clock it has heard of), so clocks that were never more than
 * the spread apart order writes sent more than the spread apart; judged at the bound alone, most
 * runs (clocks 500 ms apart at most, a bound of 2 s, 3 s of operations) would judge few pairs.
 */
export function realTimeBoundOf(final: FinalState): number {
  const bound = final.clockBoundMs ?? Number.POSITIVE_INFINITY;
  return Math.min(bound, final.clockSlackMs ?? bound);
}

export const CHECKERS: Record<string, Checker> = {
  oneRing,
  lostWrites,
  deletesUndone,
  convergence,
  increments,
  casOnce,
  casCurrent,
  ifAbsentOnce,
  staleReads,
  readsMatchWrites,
  expiredReads,
  realTimeOrder: (history, final) =>
    final.clockBoundMs === undefined ? [] : realTimeOrder(realTimeBoundOf(final))(history, final),
};

export function checkAll(history: readonly HistoryEntry[], final: FinalState): Violation[] {
  const judged = aroundFlushes(history);
  return [
    ...Object.values(CHECKERS).flatMap((check) => check(judged, final)),
    ...flushedWrites(history, final),
  ];
}

/** One line per violation, `[checker] key: message`, for a failing run's report. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `[${v.checker}] ${v.key}: ${v.message}`).join('\n');
}
