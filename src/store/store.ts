import { RingCacheError } from '../errors';
import { ChangeFeed, type ChangeKind } from './change-feed';
import { EntryTable, ENTRY_OVERHEAD_BYTES, type DroppedListener, type RecordListener } from './entry-table';
import { FLUSH_VERSION_NODE, FlushFences } from './flush-fences';
import { keyPageSteps, type KeyPage } from './key-page';
import { HybridLogicalClock, systemClock, wallMsOf, type Clock } from './hlc';
import { checkIncrementResult, decodeInteger, encodeInteger } from './integer-value';
import { PeriodicSweep } from './periodic-sweep';
import { MAX_VALUE_LENGTH } from './slot-table';
import type {
  SetMode,
  StoreOptions,
  StoredValue,
  StoreRecord,
  StoreStats,
  ValueFlags,
  VersionCursor,
} from './types';
import {
  checkExpiresAt,
  checkFlaggedValue,
  checkFlags,
  checkKey,
  checkSafeInteger,
  checkTtl,
  checkValue,
  checkVersion,
  expiryOutOfBounds,
  MAX_TTL_MS,
  RefusedPeerInputs,
} from './validation';
import { compareVersions, formatVersion, type Version } from './version';

export { ENTRY_OVERHEAD_BYTES, MAX_TTL_MS };

const SET_MODES: readonly SetMode[] = ['always', 'ifAbsent', 'ifPresent'];

/**
 * One node's storage engine: key -> {value, flags, version, expiry}, bounded by accounted bytes
 * with LRU eviction, lazy TTL expiry plus a budgeted periodic sweep, and tombstones for deletes.
 * This class holds the semantics (validation, versions, set modes, last-writer-wins); EntryTable
 * holds the compact layout and the byte accounting.
 *
 * An entry that expires becomes a tombstone at its version for the grace period, as a delete would:
 * otherwise a replica still holding an older, longer-lived write could hand it back through read
 * repair and resurrect a value that was overwritten and then expired.
 */
export class Store {
  // The writes below take an optional version: a read-modify-write's coordinator passes its ballot,
  // which must become the record's version (cluster/replication/ballots.ts). By default a new HLC tick.
  readonly hlc: HybridLogicalClock;
  readonly #clock: Clock;
  readonly #maxBytes: number;
  readonly #maxKeyBytes: number;
  readonly #maxValueBytes: number;
  readonly #graceMs: number;
  readonly #maxClockOffsetMs: number;
  #versionsRefused = 0;
  /** Peer inputs this node refused, by reason; the core counts its own (gossip, rings) here too. */
  readonly refusedInputs = new RefusedPeerInputs();
  readonly #sweepBudgetMs: number;
  readonly #sweeper: PeriodicSweep;
  readonly #entries: EntryTable;
  readonly #fences = new FlushFences();
  #hits = 0;
  #misses = 0;
  /** Every change of a key this store applies, as it applies it (Cache/Watch). */
  readonly changes = new ChangeFeed();

  /**
   * Called as the store lets go of a value (evicted for room) or of a delete's tombstone before its
   * grace ends (shed, or not kept): gone without a change (no reader is told; the key's other
   * replicas keep their copies). The simulator records them to judge what each may cost.
   */
  set onDropped(listener: DroppedListener | undefined) {
    this.#entries.onDropped = listener;
  }

  /**
   * Called with every (key, version) pair the store starts or stops holding, tombstones included, and
   * the slot it is in: what keeps anti-entropy's digests up to date without reading the store again.
   */
  set onRecord(listener: RecordListener | undefined) {
    this.#entries.onRecord = listener;
  }

  /** One past the highest slot in use so far: every record is in a slot of [1, slotsEnd). */
  get slotsEnd(): number {
    return this.#entries.slotsEnd;
  }

  /** Tells `visit` each record held in slots [from, to) (tombstones included), as onRecord would. */
  recordsIn(from: number, to: number, visit: RecordListener): void {
    this.#entries.recordsIn(from, to, visit);
  }

  constructor(opts: StoreOptions) {
    positive('maxMemoryBytes', opts.maxMemoryBytes);
    positive('maxKeyBytes', opts.maxKeyBytes);
    positive('maxValueBytes', opts.maxValueBytes);
    if (opts.maxValueBytes > MAX_VALUE_LENGTH) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `store option maxValueBytes is at most ${MAX_VALUE_LENGTH} (16 MiB); got ${opts.maxValueBytes}`,
      );
    }
    this.#clock = opts.clock ?? systemClock;
    this.hlc = opts.hlc ?? new HybridLogicalClock(opts.nodeId, this.#clock);
    this.#maxBytes = opts.maxMemoryBytes;
    this.#maxKeyBytes = opts.maxKeyBytes;
    this.#maxValueBytes = opts.maxValueBytes;
    this.#graceMs = opts.tombstoneGraceMs ?? 60_000;
    this.#maxClockOffsetMs = opts.maxClockOffsetMs ?? 5000;
    this.#sweepBudgetMs = opts.sweepBudgetMs ?? 2;
    this.#entries = new EntryTable(opts.maxMemoryBytes, this.#graceMs, opts.maxTombstoneBytes);
    this.#entries.reserveNode(opts.nodeId);
    this.#sweeper = new PeriodicSweep(opts.sweepIntervalMs ?? 1000, () => void this.sweep());
  }

  /** Counts a hit or miss, expires lazily, bumps LRU; undefined for absent keys and tombstones. */
  get(key: string): StoredValue | undefined {
    const e = this.#entries;
    const slot = e.slotOf(key);
    if (slot === undefined || e.isTombstone(slot)) {
      this.#misses++;
      return undefined;
    }
    const expiresAtMs = e.expiresAtMs(slot);
    if (expiresAtMs !== 0 && expiresAtMs <= this.#clock.now()) {
      e.expire(slot);
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    e.bump(slot);
    return { value: e.readValue(slot), flags: e.flagsOf(slot), version: e.versionAt(slot), expiresAtMs };
  }

  /**
   * Bytes of the live value held for `key`, 0 for an absent, deleted or expired one: what get() would
   * copy out, known without a copy. Neither a hit nor a miss, no LRU bump, nothing expired here.
   */
  valueBytesOf(key: string): number {
    const e = this.#entries;
    const slot = e.slotOf(key);
    if (slot === undefined || e.isTombstone(slot)) return 0;
    const expiresAtMs = e.expiresAtMs(slot);
    return expiresAtMs !== 0 && expiresAtMs <= this.#clock.now() ? 0 : e.valueLength(slot);
  }

  set(
    key: string,
    value: Buffer,
    flags: ValueFlags,
    opts?: { ttlMs?: number; mode?: SetMode; version?: Version; keepTtl?: boolean },
  ): { stored: boolean; version?: Version } {
    const keyBytes = checkKey(key, this.#maxKeyBytes);
    checkValue(value, this.#maxValueBytes);
    checkFlags(flags);
    checkFlaggedValue(value, flags);
    const ttlMs = checkTtl(opts?.ttlMs);
    const mode = opts?.mode ?? 'always';
    if (!SET_MODES.includes(mode)) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `mode must be one of ${SET_MODES.join(', ')}; got ${String(mode)}`,
      );
    }
    const now = this.#clock.now();
    const slot = this.#entries.slotOf(key);
    const keepTtl = opts?.keepTtl === true;
    // Only a conditional or keepTtl set needs to know (a plain set, the common one, does not look).
    const live = (mode !== 'always' || keepTtl) && slot !== undefined && this.#entries.isLive(slot, now);
    if (mode !== 'always' && (mode === 'ifAbsent' ? live : !live)) return { stored: false };
    // keepTtl: the live value's expiry stays (none stays none); ttlMs is for a key with no live value.
    const expiresAtMs = keepTtl && live ? this.#entries.expiresAtMs(slot) : expiryOf(now, ttlMs);
    const version = opts?.version ?? this.hlc.now();
    this.#entries.put(key, keyBytes, slot, value, flags, version, expiresAtMs, false, now);
    this.changes.emit(key, 'set', version);
    return { stored: true, version };
  }

  /**
   * Writes a tombstone with a new version even when the key is absent: replicas may still hold it,
   * and a tombstone here keeps read repair from bringing their copy back. One for an absent key
   * takes free room or an older tombstone's, never a live value's (EntryTable.putTombstone).
   */
  delete(key: string): { deleted: boolean; version: Version } {
    const keyBytes = checkKey(key, this.#maxKeyBytes);
    const now = this.#clock.now();
    const slot = this.#entries.slotOf(key);
    const deleted = slot !== undefined && this.#entries.isLive(slot, now);
    const version = this.hlc.now();
    this.#entries.putTombstone(key, keyBytes, slot, version, now + this.#graceMs, now);
    this.changes.emit(key, 'delete', version);
    return { deleted, version };
  }

  /** Sets a live key's TTL (0 = none) from now, with a new version so replicas take it; false if absent. */
  touch(key: string, ttlMs: number, version?: Version): boolean {
    checkKey(key, this.#maxKeyBytes);
    const ttl = checkTtl(ttlMs);
    const now = this.#clock.now();
    const slot = this.#entries.slotOf(key);
    if (slot === undefined || !this.#entries.isLive(slot, now)) return false;
    const v = version ?? this.hlc.now();
    this.#entries.setExpiresAtMs(slot, expiryOf(now, ttl));
    this.#entries.setVersion(slot, v);
    this.#entries.bump(slot);
    this.changes.emit(key, 'touch', v);
    return true;
  }

  /**
   * Adds delta to an integer value, keeping its encoding and expiry. An absent key is created as
   * UTF-8 decimal (flags 1) holding initial + delta, with ttlMs.
   */
  increment(
    key: string,
    delta: number,
    opts?: { initial?: number; ttlMs?: number; version?: Version },
  ): { value: number; version: Version } {
    checkSafeInteger('delta', delta);
    const initial = opts?.initial ?? 0;
    checkSafeInteger('initial', initial);
    const ttlMs = checkTtl(opts?.ttlMs);
    const keyBytes = checkKey(key, this.#maxKeyBytes);
    const now = this.#clock.now();
    const e = this.#entries;
    const slot = e.slotOf(key);
    let flags: ValueFlags = 1;
    let current = initial;
    let expiresAtMs = expiryOf(now, ttlMs);
    if (slot !== undefined && e.isLive(slot, now)) {
      flags = e.flagsOf(slot);
      current = decodeInteger(key, e.viewValue(slot), flags);
      expiresAtMs = e.expiresAtMs(slot);
    }
    const value = checkIncrementResult(key, current, delta);
    const encoded = encodeInteger(value, flags);
    checkValue(encoded, this.#maxValueBytes);
    const version = opts?.version ?? this.hlc.now();
    e.put(key, keyBytes, slot, encoded, flags, version, expiresAtMs, false, now);
    this.changes.emit(key, 'set', version);
    return { value, version };
  }

  /**
   * Writes only if the key is live at exactly `expected`; VERSION_CONFLICT otherwise. With `keepTtl`
   * the value keeps the key's expiry, and `ttlMs` must be 0.
   */
  compareAndSet(
    key: string,
    expected: Version,
    value: Buffer,
    flags: ValueFlags,
    ttlMs?: number,
    version: Version = this.hlc.now(),
    keepTtl = false,
  ): Version {
    const keyBytes = checkKey(key, this.#maxKeyBytes);
    checkVersion('expected', expected);
    checkValue(value, this.#maxValueBytes);
    checkFlags(flags);
    checkFlaggedValue(value, flags);
    const ttl = checkTtl(ttlMs);
    if (keepTtl && ttl !== 0) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        "keep_ttl keeps the key's expiry; ttl_ms must then be 0 (a compare-and-set never creates a key)",
      );
    }
    const now = this.#clock.now();
    const slot = this.#entries.slotOf(key);
    if (slot === undefined || !this.#entries.isLive(slot, now)) {
      throw new RingCacheError(
        'VERSION_CONFLICT',
        `key '${key}' is absent; expected version ${formatVersion(expected)}`,
      );
    }
    const current = this.#entries.versionAt(slot);
    if (compareVersions(current, expected) !== 0) {
      throw new RingCacheError(
        'VERSION_CONFLICT',
        `key '${key}' is at version ${formatVersion(current)}; expected ${formatVersion(expected)}`,
      );
    }
    const expiresAtMs = keepTtl ? this.#entries.expiresAtMs(slot) : expiryOf(now, ttl);
    this.#entries.put(key, keyBytes, slot, value, flags, version, expiresAtMs, false, now);
    this.changes.emit(key, 'set', version);
    return version;
  }

  /**
   * The record replicas exchange, tombstones included, without counting or bumping. A value past
   * its TTL reads as a tombstone at its version (see the class comment); tombstones past their grace
   * read as absent.
   */
  readRecord(key: string): StoreRecord | undefined {
    const slot = this.#entries.slotOf(key);
    return slot === undefined ? undefined : this.#entries.recordAt(slot, this.#clock.now());
  }

  /**
   * The record set() just stored for `key` from `value`, as readRecord reads it but with `value`
   * itself where readRecord copies the bytes back out of the arena: a write's copies to the other
   * replicas are packed from it (a 1 MiB Set copied its value once more for nothing).
   */
  recordSetFrom(key: string, value: Buffer): StoreRecord | undefined {
    const slot = this.#entries.slotOf(key);
    return slot === undefined ? undefined : this.#entries.recordAt(slot, this.#clock.now(), value);
  }

  /** The version held for `key` (tombstones included), without reading the value: a ballot fence. */
  versionOf(key: string): Version | undefined {
    const slot = this.#entries.slotOf(key);
    return slot === undefined ? undefined : this.#entries.versionAt(slot);
  }

  /**
   * Last writer wins: applies the record only if its version is newer than what is held, tombstones
   * included; replays and reordering converge. A live record already past its TTL is held as a
   * tombstone; a tombstone keeps the purge time it carries (expiresAtMs), or gets the local grace.
   */
  applyRecord(key: string, record: StoreRecord, kind?: ChangeKind): boolean {
    const keyBytes = checkKey(key, this.#maxKeyBytes);
    this.checkPeerRecord(record);
    if (!record.tombstone) {
      checkValue(record.value, this.#maxValueBytes);
      checkFlags(record.flags);
    }
    this.hlc.observe(record.version);
    const now = this.#clock.now();
    // Older than a flush of its prefix: as if under a newer tombstone (flush-fences.ts).
    if (this.#fences.size > 0 && this.#fences.covers(key, record.version.timestamp, now)) return false;
    const e = this.#entries;
    const slot = e.slotOf(key);
    if (slot !== undefined && compareVersions(record.version, e.versionAt(slot)) <= 0) return false;
    if (record.tombstone) {
      e.putTombstone(key, keyBytes, slot, record.version, record.expiresAtMs || now + this.#graceMs, now);
    } else if (record.expiresAtMs !== 0 && record.expiresAtMs <= now) {
      e.putTombstone(key, keyBytes, slot, record.version, record.expiresAtMs + this.#graceMs, now);
    } else {
      e.put(key, keyBytes, slot, record.value, record.flags, record.version, record.expiresAtMs, false, now);
    }
    this.changes.emit(key, kind ?? (record.tombstone ? 'delete' : 'set'), record.version);
    return true;
  }

  /**
   * Refuses (INVALID_ARGUMENT, counted, nothing changed) a record no node of this cluster could have
   * made: a version further ahead of this clock than maxClockOffsetMs, or an expiry later than a
   * tombstone's grace or a client's longest TTL allows (validation.ts expiryOutOfBounds). applyRecord
   * runs it on every record from a peer; a node keeping a hint runs it before keeping one.
   */
  checkPeerRecord(record: StoreRecord): void {
    checkVersion('record.version', record.version);
    this.#checkNotAhead(record.version);
    checkExpiresAt(record.expiresAtMs);
    const latestMs = expiryOutOfBounds(record, {
      nowMs: this.#clock.now(),
      tombstoneGraceMs: this.#graceMs,
      maxClockOffsetMs: this.#maxClockOffsetMs,
    });
    if (latestMs === undefined) return;
    const what = record.tombstone ? 'tombstone' : 'value';
    this.refusedInputs.count(record.tombstone ? 'tombstone_expiry' : 'value_expiry');
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${what} expires_at_ms is after ${latestMs}, the latest this node allows ` +
        (record.tombstone
          ? '(now + cluster.tombstone_grace_ms + cluster.max_clock_offset_ms)'
          : `(now + the longest TTL, ${MAX_TTL_MS} ms, + cluster.max_clock_offset_ms)`),
    );
  }

  /** Refuses (INVALID_ARGUMENT, counted) a version, such as a ballot, too far ahead of this clock. */
  checkPeerVersion(field: string, version: Version): void {
    checkVersion(field, version);
    this.#checkNotAhead(version);
  }

  /**
   * A store of one key at a time, with this one's clock, HLC and limits, where a read-modify-write's
   * coordinator computes its round's record without changing this store: the record becomes this
   * node's only once the other replicas answered the round's accept (read-modify-write.ts). `seed` puts
   * `key` in it as `record` (absent when undefined), replacing whatever it held; `lastChange` is the
   * kind of the last change made to it since (a touch, say), for this store's watchers.
   */
  sandbox(): {
    store: Store;
    seed(key: string, record: StoreRecord | undefined): void;
    lastChange(): ChangeKind | undefined;
  } {
    const store = new Store({
      nodeId: this.hlc.nodeId,
      // One entry of the largest key and value; eviction never runs.
      maxMemoryBytes: 2 * (this.#maxKeyBytes + this.#maxValueBytes) + 64 * 1024,
      maxKeyBytes: this.#maxKeyBytes,
      maxValueBytes: this.#maxValueBytes,
      clock: this.#clock,
      hlc: this.hlc,
      tombstoneGraceMs: this.#graceMs,
      maxClockOffsetMs: this.#maxClockOffsetMs,
    });
    let held: string | undefined;
    let last: ChangeKind | undefined;
    store.changes.listen((_key, kind) => (last = kind));
    return {
      store,
      seed: (key, record) => {
        const version = held === undefined ? undefined : store.versionOf(held);
        if (version) store.release(held!, version);
        held = key;
        if (record) store.applyRecord(key, record);
        last = undefined;
      },
      lastChange: () => last,
    };
  }

  /**
   * Drops this node's copy of a key it no longer replicates, with no tombstone (the key still exists
   * on its replicas), but only while the copy is still at `version`: a newer write that reached this
   * node meanwhile is kept. Returns whether the copy was dropped.
   */
  release(key: string, version: Version): boolean {
    const e = this.#entries;
    const slot = e.slotOf(key);
    if (slot === undefined || compareVersions(e.versionAt(slot), version) !== 0) return false;
    e.remove(slot);
    return true;
  }

  /**
   * Advances this node's HLC past a peer's (its highest timestamp), so that later local writes are
   * newer than anything the peer wrote: a restarted node must not write below its peers.
   * A clock further ahead than maxClockOffsetMs is refused, as in applyRecord.
   */
  observePeerClock(timestamp: number, node: string): void {
    const version = { timestamp, node };
    checkVersion('peer clock', version);
    this.#checkNotAhead(version);
    this.hlc.observe(version);
  }

  /** Refuses a version further ahead of this node's clock than maxClockOffsetMs. */
  #checkNotAhead(version: Version): void {
    const aheadMs = wallMsOf(version.timestamp) - this.#clock.now();
    if (aheadMs <= this.#maxClockOffsetMs) return;
    this.#versionsRefused++;
    this.refusedInputs.count('version_ahead');
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `version ${formatVersion(version)} is ${Math.round(aheadMs)} ms ahead of this node's clock; ` +
        `cluster.max_clock_offset_ms is ${this.#maxClockOffsetMs} (is the writer's clock wrong?)`,
    );
  }

  /**
   * Holds `bytes` less than limits.max_memory (at most half of it), evicting down to that now: the
   * node's memory guard gives back what the process needs beyond its fixed part.
   */
  setMemoryPressure(bytes: number): void {
    this.#entries.setLimit(this.#maxBytes - bytes, this.#clock.now());
  }

  /** What the store may hold now: max_memory less the memory pressure. */
  get limitBytes(): number {
    return this.#entries.limit;
  }

  /** What the store takes in memory now: what it charges, plus the arena's free cells (memory-guard.ts). */
  get footprintBytes(): number {
    return this.#entries.footprintBytes;
  }

  /**
   * Deletes every live key that starts with `prefix` (every key for ''): a tombstone each, with a new
   * version, as delete() writes. Returns how many. For Cluster/Flush and the Keyv adapter's clear().
   */
  deletePrefix(prefix: string): number {
    const now = this.#clock.now();
    const matching: string[] = [];
    for (const [key, slot] of this.#entries.entries()) {
      if (key.startsWith(prefix) && this.#entries.isLive(slot, now)) matching.push(key);
    }
    for (const key of matching) this.delete(key);
    return matching.length;
  }

  /**
   * A flush's share on this node (cluster/flush.ts): every live key under `prefix` written at or
   * before `upTo` (a hybrid clock timestamp) gets a tombstone at version (upTo + 1, FLUSH_VERSION_NODE),
   * the same on every member; a copy of such a write that arrives later is refused for a tombstone
   * grace; and this node's later writes get versions past `upTo`, which win over those tombstones.
   * Returns the keys deleted.
   */
  fencePrefix(prefix: string, upTo: number): number {
    this.hlc.observe({ timestamp: upTo, node: FLUSH_VERSION_NODE });
    const now = this.#clock.now();
    const version: Version = { timestamp: upTo + 1, node: FLUSH_VERSION_NODE };
    const e = this.#entries;
    const matching: string[] = [];
    for (const [key, slot] of e.entries()) {
      if (key.startsWith(prefix) && e.isLive(slot, now) && e.versionAt(slot).timestamp <= upTo)
        matching.push(key);
    }
    for (const key of matching) {
      const keyBytes = checkKey(key, this.#maxKeyBytes);
      e.putTombstone(key, keyBytes, e.slotOf(key), version, now + this.#graceMs, now);
      this.changes.emit(key, 'delete', version);
    }
    this.#fences.add(prefix, upTo, now + this.#graceMs);
    return matching.length;
  }

  /**
   * A page of the live keys under `prefix` that sort after `after` (Cache/Scan; key-page.ts). It
   * expires nothing as it reads: a scan changes no state.
   */
  keyPage(prefix: string, after: string, count: number): KeyPage {
    const steps = this.keyPageSteps(prefix, after, count, Infinity);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /** keyPage in steps of `stepEntries` entries read (key-page.ts keyPageSteps), for a walk that lets others in. */
  keyPageSteps(
    prefix: string,
    after: string,
    count: number,
    stepEntries: number,
  ): Generator<void, KeyPage, void> {
    const e = this.#entries;
    const now = this.#clock.now();
    return keyPageSteps(
      e.entries(),
      prefix,
      after,
      count,
      (slot) => {
        if (e.isTombstone(slot)) return false;
        const expiresAtMs = e.expiresAtMs(slot);
        return expiresAtMs === 0 || expiresAtMs > now;
      },
      stepEntries,
    );
  }

  /** Every key held, live, tombstone or past its purge time, without reading values (cheap to scan). */
  *keys(): IterableIterator<string> {
    for (const [key] of this.#entries.entries()) yield key;
  }

  /** Every live record and tombstone, as readRecord would return it (for handoff, repair, rebalancing). */
  *records(): IterableIterator<[string, StoreRecord]> {
    for (const [key, slot] of this.#entries.entries()) {
      const record = this.#entries.recordAt(slot, this.#clock.now());
      if (record !== undefined) yield [key, record];
    }
  }

  /**
   * Every live record and tombstone as records() gives them, but only their versions, in one
   * cursor object that each step overwrites: no value is read and nothing is allocated per key, so a
   * scan of every key (anti-entropy's digests) makes no garbage.
   */
  *versions(): IterableIterator<VersionCursor> {
    const e = this.#entries;
    const cursor: VersionCursor = { key: '', timestamp: 0, node: '', tombstone: false };
    // The clock read at every key: a paced scan sleeps between steps of this generator.
    for (const [key, slot] of e.entries()) {
      const tombstone = e.tombstoneAt(slot, this.#clock.now());
      if (tombstone === undefined) continue;
      cursor.key = key;
      cursor.timestamp = e.versionTimestampAt(slot);
      cursor.node = e.versionNodeAt(slot);
      cursor.tombstone = tombstone;
      yield cursor;
    }
  }

  stats(): StoreStats {
    const e = this.#entries;
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: e.evictions,
      expirations: e.expirations,
      keys: e.live,
      bytes: e.bytes,
      maxBytes: this.#maxBytes,
      arenaBytes: e.arenaBytes,
      tableBytes: e.tableBytes,
      tombstones: e.tombstones,
      tombstoneBytes: e.tombstoneBytes,
      tombstonesShed: e.tombstonesShed,
      versionsRefused: this.#versionsRefused,
    };
  }

  /**
   * Expires values past their TTL and purges tombstones past their grace, resuming where the last
   * call stopped, for at most budgetMs of real time (performance.now(), not the injected clock) and
   * at most one full pass, then runs one compaction pass of the value arena. Returns how many
   * entries it expired or purged.
   */
  sweep(budgetMs: number = this.#sweepBudgetMs): number {
    const deadline = performance.now() + budgetMs;
    const swept = this.#entries.sweep(this.#clock.now(), () => performance.now() >= deadline);
    this.#entries.compact(COMPACT_BYTES_PER_SWEEP);
    return swept;
  }

  /**
   * The sweep's first part (no compaction), over at most `slots` slots and within the sweep's time
   * budget; returns the slots it went through (Infinity when nothing in the store expires). Called
   * again until those add up to slotsEnd, it brings the whole store past what is due without holding
   * the event loop long.
   */
  sweepSlots(slots: number): number {
    const deadline = performance.now() + this.#sweepBudgetMs;
    return this.#entries.sweepSlots(this.#clock.now(), () => performance.now() >= deadline, slots).visited;
  }

  /** Starts the periodic sweep (unref'd timer, so it never holds the process open). Idempotent. */
  start(): void {
    this.#sweeper.start();
  }

  stop(): void {
    this.#sweeper.stop();
  }
}

/**
 * Values moved per sweep by the arena's compaction: about 2 ms of copying plus one scan of the slots,
 * so a store that lost half of 256 MiB to memory pressure gives the arena back within ~10 s.
 */
const COMPACT_BYTES_PER_SWEEP = 16 * 1024 * 1024;

function expiryOf(now: number, ttlMs: number): number {
  return ttlMs === 0 ? 0 : now + ttlMs;
}

function positive(option: string, n: number): void {
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `store option ${option} must be a positive number; got ${String(n)}`,
    );
  }
}
