import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { realScheduler } from '../cluster/membership/scheduler';
import type { Scheduler } from '../cluster/membership/types';
import type { Logger } from '../observability/logger';
import { ResidentMemory } from './resident-memory';

/**
 * Keeps a node's RSS within its target, at its peaks as well as when it settles. RSS
 * is the store's footprint (what it charges, plus the arena's free cells) and the rest of the
 * process: V8, gRPC, the requests in flight and the garbage between collections. Values live in the
 * store's arena, but each request arrives in Buffers of its own, and V8 frees such external memory
 * only when it next collects (it lets about 64 MiB build up first). So every `intervalMs` the guard
 * reads RSS, what V8 holds (heap in use and external memory) and the store's footprint (every
 * `quietIntervalMs` while a second of checks found nothing to do and no request came: a wakeup
 * costs an idle node more than the reading, and the first request brings the busy pace back):
 * - RSS above the target: it runs a full collection (cheap here: the heap holds little besides the
 *   store's typed arrays), at most once per `minGapMs`; above 90% of it, at most once per twenty
 *   times what the last one took, since with small values the heap does hold every key;
 * - the rest of the process at its highest over the last `windowMs` is what the store must leave
 *   room for: the store holds max_memory less what that peak takes beyond `target - max_memory`
 *   (`setPressure`, at most `maxPressureBytes`). So a store that fills up takes RSS past the target
 *   for no longer than `riseHoldMs` (below), even at the first fill (clients flooding the node and
 *   memory the allocators keep aside, below), and once a burst's garbage has gone for `windowMs`
 *   the store gets the room back. This is set, not added up: the rest of the process does not
 *   depend on what the store holds, so the pressure cannot wind up while the store's memory takes
 *   its time to come back (the arena compacts in steps);
 * - the rest is what the process asks for, not its RSS: V8's heap in use and its external memory,
 *   less the store's footprint, plus the native part (code, stacks, libraries) measured once at
 *   start as RSS less what V8 had committed then. Memory freed after a burst goes back to an
 *   allocator that keeps much of it: glibc keeps freed blocks below its mmap threshold (a value's
 *   copy of 100 KiB, say), and V8 keeps the heap a burst grew (57 MB committed for 21 MB in use on
 *   an idle node of max_memory 64 MiB after a load). Read as RSS less the footprint, the rest stayed
 *   133 MB for minutes after a flood whose memory was all freed, and the store held half of
 *   max_memory for as long, its keys evicted for nothing. That memory is reused by the next
 *   requests, so it needs no room of its own; RSS counts only for what it takes above the target
 *   itself (native memory that grew, or what the allocators keep once the process is over), which
 *   the store then holds less than max_memory, as long as it lasts;
 * - while the store holds less and the rest of the process has grown since the last collection (or
 *   still reads as much as holds the pressure), the guard also collects, at most once per
 *   `reclaimGapMs`: a burst's garbage can sit with no allocation to make V8 collect it, and would
 *   hold the pressure up. After each such collection that gave nothing back the gap doubles, up to
 *   a minute: the rest may be in use (an idle node's own memory);
 * - a reading that would make the store hold less is first confirmed by a collection (spaced as
 *   those near the target, and twice as far after each that found only garbage, up to a minute);
 *   until one may run, the reading only holds the pressure where it is.
 *   A flood of large writes leaves tens of MB of garbage between collections, and the guard read it
 *   as the process's own memory: it evicted keys written before the flood, the store half empty;
 * - what the node holds for its clients is bounded by limits.max_client_input_bytes (requests, and
 *   their copies to other replicas) and max_client_output_bytes (replies), whose room is in the
 *   target's margin beside the process (defaults.ts): the bytes they count (`clientBytes`) are left
 *   out of the rest, counted once, as budgets, not again as pressure on the store;
 * - while the clients hold more than an eighth of those budgets (`clientBudgetBytes`), with what
 *   their frames hold past what their streams may (`clientOverheadBytes`: 40,000 deletes of
 *   absent 1 KB keys, in frames of 2 MB run one at a time, reached that eighth only with it), and for
 *   `windowMs` after, they are flooding the node, and no reading makes the store hold less. Serving
 *   them costs more than the bytes counted: messages being read before any handler sees them, their
 *   decoded copies, garbage, what the allocators keep afterwards. At max_memory 64 MiB, 32 GetMany of
 *   30 MB and then 32 Sets of 1 MiB at a time took RSS from 150 to 260 MB, and the guard evicted
 *   9,400 of the 24,000 keys written before them. A flood is for the budgets to bound, by refusing
 *   it (as Redis's maxmemory-clients does), not for the store to make room for; RSS may pass the
 *   target meanwhile. So too while the node refuses large requests, and for `windowMs` after: 32
 *   GetMany of a million keys at a time, each read whole before max_batch_keys refused it, took RSS
 *   from 150 to 213 MB with nothing counted in the budgets, and the guard evicted 700 keys. Counted
 *   in the bytes refused between two checks, against the same eighth of the budgets: refusals of
 *   small requests (a connection past max_connections, say) take no memory, and a client refused
 *   now and then must not hold the guard off for good. So too while the connections opened in a
 *   burst (more open than the fewest of the window), at CONNECTION_BYTES each, pass that eighth,
 *   and for `windowMs` after: 2,000 silent connections took RSS up by 25 MB, and the guard evicted
 *   5,000-15,000 keys for them. Clients that connect and leave at a steady rate count for none. So
 *   too for clients' streams opened in a burst, at STREAM_BYTES each: 10 connections of 1,000 streams
 *   left open, on a node whose RSS earlier floods had left above its target, made it evict 15,000;
 * - a reading of the rest that would make the store hold less counts only once it has read so for
 *   `riseHoldMs`: 32 GetMany of a million keys at a time took memory while they were read, and the
 *   first reading, before any was refused, made the store hold 32 MiB less, held through the next
 *   flood, which evicted thousands of keys written before both;
 * - RSS above the target presses on the store only once it has read so for OVER_HOLD_MS: a burst of
 *   large requests takes memory while its messages are read, before the budgets can count them;
 * - and only by what is not memory the allocators keep after a burst (`keptBytes`): what RSS holds
 *   beyond V8's accounts and the native part at start has grown by since V8's external memory (the
 *   Buffers, which go through glibc) was at its high (since RSS was last within the target), up to
 *   what that memory fell by. Native memory that grew before that high, or grows beyond that fall,
 *   is pressed for; native memory that grows while Buffers are freed is taken for kept (readings
 *   cannot tell the two apart), as long as RSS stays above the target. Memory freed to glibc is
 *   not pressed for, since evicting does not bring it back (glibc keeps it for the next requests,
 *   which reuse it). In bench:abuse's
 *   sequence of floods, RSS stayed 25-45 MB above the target after the deletes of absent keys, and
 *   the guard evicted 6,800-21,400 keys in the flood of silent connections after it, which alone
 *   evicts none.
 */
export interface MemoryGuardOptions {
  /** RSS the node should stay within, in bytes. */
  targetBytes: number;
  /** limits.max_memory: what the store holds with no pressure. */
  maxMemoryBytes: number;
  /** What the store takes in memory now (Store.footprintBytes). */
  storeFootprintBytes: () => number;
  /**
   * What the node holds for its clients now, within limits.max_client_input_bytes and
   * max_client_output_bytes: left out of the rest of the process (see above). Default none.
   */
  clientBytes?: () => number;
  /**
   * What clients' Pipeline frames in flight hold beyond what their own streams may hold
   * (PipelineStreams.excessOverheadBytes): their operations' state, estimated (a delete of an
   * absent key holds a tombstone, its round and its key in each copy to a replica, far more than its
   * bytes), which no budget bounds. Only a sign of a flood, counted with `clientBytes` against an
   * eighth of the budgets; not left out of the rest, being an estimate. Default none.
   */
  clientOverheadBytes?: () => number;
  /**
   * The clients' budgets together (max_client_input_bytes + max_client_output_bytes). While the node
   * holds more than an eighth of them, its clients are flooding it: readings then never make the store
   * hold less (see above). Default none: never.
   */
  clientBudgetBytes?: number;
  /**
   * Bytes of the requests the node has refused so far, each read whole before it could be refused
   * (LimitRefusals.refusedBytes): memory no budget counted. Where a check finds an eighth of
   * `clientBudgetBytes` more of them than the one before, the node is flooded too. Default none.
   */
  refusedBytes?: () => number;
  /**
   * Connections open now. Each takes memory no budget counts before any call (its socket, its
   * HTTP/2 session): CONNECTION_BYTES. Default none.
   */
  connectionsOpen?: () => number;
  /**
   * Clients' streams held open now (not unary calls: how many are in flight swings with the load),
   * and their new streams waiting to start. Each takes memory no budget counts (its HTTP/2 stream,
   * grpc-js's call): STREAM_BYTES. Default none.
   */
  streamsHeld?: () => number;
  /** Tells the store how many bytes below max_memory to stay. */
  setPressure?: (bytes: number) => void;
  /** Most pressure asked for (half of max_memory). */
  maxPressureBytes?: number;
  logger: Logger;
  /** The gap between two checks while the node is busy (or its memory moves). */
  intervalMs?: number;
  /**
   * The gap between two checks once QUIET_CHECKS checks in a row found nothing to do and no client
   * request came (`nudge()`): an idle node wakes once a second for its guard, not twenty times.
   */
  quietIntervalMs?: number;
  /** How long a peak of the rest of the process keeps the store holding less. */
  windowMs?: number;
  /**
   * How long the rest of the process must read high before it makes the store hold less (default 1 s):
   * a burst of large requests takes memory while its messages are read, before the node can refuse
   * them and take them for a flood.
   */
  riseHoldMs?: number;
  minGapMs?: number;
  /** Least time between collections run only to give pressure back. */
  reclaimGapMs?: number;
  /**
   * The process's RSS (tests give their own). Default: /proc/self/statm on a file the guard keeps
   * open from start() to stop() (ResidentMemory: far cheaper than process.memoryUsage.rss()).
   */
  readRss?: () => number;
  /**
   * V8's heap (what it has committed, and what is in use: live objects and garbage not yet collected)
   * and its external memory, Buffers included: V8's heap statistics, the figures process.memoryUsage()
   * gives without the RSS it also reads, a second read of /proc per check (tests give their own).
   */
  readV8?: () => { heapTotal: number; heapUsed: number; external: number };
  /** A full collection; undefined where V8's gc() is not available (tests give their own). */
  collect?: () => void;
  /**
   * Bytes of clients' messages read in more than one piece so far, all together (a count that only
   * grows: RequestReads.bytesReadInPieces). Each such message comes in chunks that gRPC then joins
   * into one Buffer, and a write's copies to the other replicas follow: about five times its bytes
   * of external memory, garbage as soon as it is answered. V8 collects young Buffers only once
   * they pass 32 MiB, and older ones at its next full collection, 64 MiB on: a flood of 1 MiB Sets
   * took a node of max_memory 64 MiB 60-80 MB above where it started. Where a check finds
   * YOUNG_COLLECTION_BYTES more of them than at the last young collection, the guard runs one
   * (`scavenge`). Default none.
   */
  largeInputBytes?: () => number;
  /** A young-generation collection (a scavenge); default V8's, where its gc() is available. */
  scavenge?: () => void;
  /**
   * The clock of the gaps, the window and how long a collection takes, and the timer of the checks.
   * Default realScheduler (Date.now(), unref'd timers); tests give one they move by hand.
   */
  scheduler?: Scheduler;
}

/**
 * The target for a store of `maxMemoryBytes`: 1.3 x, but never less than 72 MiB above it, nor less
 * than 160 MiB in all: an idle node takes about 75 MiB of its own, which a small store cannot cover.
 */
export function rssTargetOf(maxMemoryBytes: number): number {
  const MiB = 1024 * 1024;
  return Math.max(maxMemoryBytes * 1.3, maxMemoryBytes + 72 * MiB, 160 * MiB);
}

/**
 * V8's gc(), without --expose-gc on the command line: the flag set at run time, read from a context.
 * Called without options it runs a full collection (Node 20's V8 takes `{ type: 'major' }` for a
 * scavenge), with `{ type: 'minor' }` a scavenge.
 */
export function exposedGc(): ((options?: { type: 'minor' }) => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as (options?: { type: 'minor' }) => void) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Clients' large messages read between two young collections the guard runs (`largeInputBytes`):
 * their garbage, about five times as much, is then at most what V8 leaves young Buffers to before it
 * collects them itself (32 MiB), less. Checked every intervalMs, so a flood of 20 MB a second or more
 * gets one at every check: a scavenge of a node's young generation takes about a millisecond.
 */
const YOUNG_COLLECTION_BYTES = 1024 * 1024;

/** The window's peak is kept per tenth of it. */
const WINDOW_SLOTS = 10;

/** Share of the target the guard aims at. */
const AIM = 0.9;

/** How long RSS must read above the target before it presses on the store. */
const OVER_HOLD_MS = 1000;

/** The longest gap between collections that keep finding nothing to free (#reclaimGapMs, #confirmGapMs). */
const BACKOFF_GAP_MAX_MS = 60_000;

/** The gap after one more collection that found nothing: twice `gapMs`, within [baseMs, a minute]. */
const backedOff = (gapMs: number, baseMs: number): number =>
  Math.max(baseMs, Math.min(2 * gapMs, BACKOFF_GAP_MAX_MS));

/** Checks in a row that find nothing to do (and no request) before the guard checks at its quiet pace. */
const QUIET_CHECKS = 20;

/**
 * What an open connection takes of the process's native memory before its first call: 2,000 silent
 * connections took a node's RSS up by 25 MB. An estimate, for the memory guard's view of a flood.
 */
const CONNECTION_BYTES = 16 * 1024;

/**
 * What a stream a client holds open takes of the process's memory whatever it carries: 10,000 idle
 * PipelinePacked streams took a node's RSS up by 155 MB. An estimate, as CONNECTION_BYTES.
 */
const STREAM_BYTES = 16 * 1024;

/** Pressure changes smaller than this are not passed on (each may make the store evict). */
const PRESSURE_STEP_BYTES = 1024 * 1024;

export class MemoryGuard {
  readonly #opts: Required<Omit<MemoryGuardOptions, 'setPressure' | 'collect' | 'scavenge'>> &
    Pick<MemoryGuardOptions, 'setPressure' | 'collect' | 'scavenge'>;

  #timer: unknown;
  #running = false;
  /** Whether RSS is read from /proc (the default readRss), through #residentMemory. */
  readonly #readsProc: boolean;
  /** Where the default readRss reads: open from start() to stop(). */
  #residentMemory: ResidentMemory | undefined;
  /** Checks in a row that found nothing to do; from QUIET_CHECKS on, the guard checks at quietIntervalMs. */
  #quietChecks = 0;
  /** A client's request came since the last check (`nudge()`). */
  #nudged = false;
  #gc: (() => void) | undefined;
  #scavenge: (() => void) | undefined;
  /** largeInputBytes at the last young collection the guard ran. */
  #largeInputAtScavenge = 0;
  #lastGcAt = 0;
  /** How long the last full collection took, in ms. */
  #lastGcMs = 0;
  /** The least gap before a collection that confirms a rise of the rest (0: minGapMs alone). */
  #confirmGapMs = 0;
  /** The gap before the next collection run only to give pressure back: reclaimGapMs, or more. */
  #reclaimGapMs: number;
  /** The rest of the process right after the last full collection: what garbage comes on top of. */
  #restAfterGc = 0;
  /** The rest of the process at its highest over the window. */
  readonly #restPeak: WindowPeak;
  /** What the node held for its clients at its highest over the window. */
  readonly #clientPeak: WindowPeak;
  /** The bytes of requests refused between two checks, at their most over the window. */
  readonly #refusedPeak: WindowPeak;
  /** Connections, and clients' streams held, opened in a burst: above the window's fewest. */
  readonly #connectionsOpened: WindowRise;
  readonly #streamsOpened: WindowRise;
  /** `refusedBytes()` at the last check. */
  #refusedBytes = 0;
  /**
   * Since when the rest of the process has read high enough to make the store hold less, in the
   * scheduler's ms; undefined while it does not.
   */
  #riseSince: number | undefined;
  /** Since when RSS has read above the target, in the scheduler's ms; undefined while it does not. */
  #overSince: number | undefined;
  /**
   * What the process holds by V8's accounts (its heap committed, its external memory, the store's
   * arena among it) and the native part measured at start, at the last reading.
   */
  #accounted = 0;
  /** V8's external memory less the store's footprint (requests' Buffers) at the last reading. */
  #external = 0;
  /** The highest `#external` since RSS was last within the target. */
  #externalHigh = -Infinity;
  /** RSS less `#accounted` when `#externalHigh` was read. */
  #unaccountedAtHigh = 0;
  /** What the allocators keep at the last check (see #check), 0 while RSS is within the target. */
  #kept = 0;
  /**
   * The part of RSS above the target that the allocators keep of memory the process freed, not
   * pressed on the store (see #check): a metric.
   */
  keptBytes = 0;
  /**
   * Whether clients are flooding the node now or were within the window (see #check): the store's
   * pressure holds where it is meanwhile. A metric, and a log line as it starts and ends.
   */
  flooded = false;
  /** Full collections the guard ran: a metric. */
  collections = 0;
  /** Young-generation collections the guard ran for clients' large messages: a metric. */
  scavenges = 0;
  /** Bytes the store is asked to stay below max_memory: a metric. */
  pressureBytes = 0;
  /** What the process takes besides the store at the last check (see above): a metric. */
  restBytes = 0;
  /** RSS less what V8 held when the guard started: the process's native part (see above). */
  nativeBytes = 0;

  constructor(opts: MemoryGuardOptions) {
    this.#readsProc = opts.readRss === undefined;
    this.#opts = {
      intervalMs: 50,
      quietIntervalMs: 1000,
      windowMs: 10_000,
      riseHoldMs: 1000,
      minGapMs: 500,
      reclaimGapMs: 2000,
      maxPressureBytes: Infinity,
      readRss: () => this.#residentMemory?.bytes() ?? process.memoryUsage.rss(),
      readV8: () => {
        const heap = getHeapStatistics();
        return {
          heapTotal: heap.total_heap_size,
          heapUsed: heap.used_heap_size,
          external: heap.external_memory,
        };
      },
      scheduler: realScheduler,
      clientBytes: () => 0,
      clientOverheadBytes: () => 0,
      clientBudgetBytes: Infinity,
      refusedBytes: () => 0,
      connectionsOpen: () => 0,
      streamsHeld: () => 0,
      largeInputBytes: () => 0,
      ...opts,
    };
    this.#reclaimGapMs = this.#opts.reclaimGapMs;
    this.#restPeak = new WindowPeak(this.#opts.windowMs);
    this.#clientPeak = new WindowPeak(this.#opts.windowMs);
    this.#refusedPeak = new WindowPeak(this.#opts.windowMs);
    this.#connectionsOpened = new WindowRise(this.#opts.windowMs);
    this.#streamsOpened = new WindowRise(this.#opts.windowMs);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#readsProc) this.#residentMemory = new ResidentMemory();
    this.#quietChecks = 0;
    this.#nudged = false;
    if ('collect' in this.#opts) {
      this.#gc = this.#opts.collect;
      this.#scavenge = this.#opts.scavenge;
    } else {
      const gc = exposedGc();
      this.#gc = gc && (() => gc());
      this.#scavenge = this.#opts.scavenge ?? (gc && (() => gc({ type: 'minor' })));
    }
    this.#largeInputAtScavenge = this.#opts.largeInputBytes();
    const v8 = this.#opts.readV8();
    this.nativeBytes = Math.max(0, this.#opts.readRss() - v8.heapTotal - v8.external);
    this.#refusedBytes = this.#opts.refusedBytes();
    if (!this.#gc)
      this.#opts.logger.warn('memory guard: V8 gc() is not available; it only adjusts the store');
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    this.#residentMemory?.close();
    this.#residentMemory = undefined;
    this.#opts.scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * A client's request arrived: the checks go back to their busy pace at once. A flood reaches an
   * idle node between two quiet checks, and its garbage must be collected near the target within
   * intervalMs, not a second later. Called on every request: a flag, and a timer only when quiet.
   */
  nudge(): void {
    this.#nudged = true;
    if (this.#quietChecks < QUIET_CHECKS || !this.#running) return;
    this.#quietChecks = 0;
    this.#opts.scheduler.clearTimeout(this.#timer);
    this.#arm();
  }

  /** Whether the guard checks at its quiet pace now (a test's view). */
  get quiet(): boolean {
    return this.#quietChecks >= QUIET_CHECKS;
  }

  /**
   * The next check, intervalMs after this one ends (quietIntervalMs once the checks have found
   * nothing to do for a while): a timer chain on the scheduler, which tests drive.
   */
  #arm(): void {
    const o = this.#opts;
    const delayMs = this.#quietChecks >= QUIET_CHECKS ? o.quietIntervalMs : o.intervalMs;
    // One chain of checks, whoever arms it: a nudge during a check re-arms, and so does its end.
    o.scheduler.clearTimeout(this.#timer);
    this.#timer = o.scheduler.setTimeout(() => {
      if (!this.#running) return;
      let quiet = false;
      try {
        quiet = this.#check();
      } finally {
        // A request that came during the check (#nudged set again) makes it no quiet one.
        this.#quietChecks = quiet && !this.#nudged ? this.#quietChecks + 1 : 0;
        if (this.#running) this.#arm();
      }
    }, delayMs);
  }

  /**
   * One check; whether it was quiet: no request since the last, no collection, the pressure as it
   * was, RSS well within the target, nothing held for clients.
   */
  #check(): boolean {
    const o = this.#opts;
    // First, so that this check's readings see what it freed.
    const scavenged = this.#collectYoung();
    let rss = o.readRss();
    // A collection frees garbage, never the store's memory: one read of the footprint serves.
    const footprint = o.storeFootprintBytes();
    const now = o.scheduler.now();
    const sinceGc = now - this.#lastGcAt;
    const collections = this.collections;
    const pressureBefore = this.pressureBytes;
    const nudged = this.#nudged;
    this.#nudged = false;
    // Aimed a little under the target: the arena's free cells, and the RSS that grows between two
    // reads, come on top of what is counted.
    const allowed = o.targetBytes * AIM - o.maxMemoryBytes;
    let rest = this.#restOf(footprint);
    if (!this.#gc) {
      // Nothing to collect with: the pressure alone keeps RSS within the target.
    } else if (rss - this.#kept > o.targetBytes && sinceGc >= o.minGapMs)
      [rss, rest] = this.#collect(now, footprint);
    else if (rss - this.#kept > o.targetBytes * AIM && sinceGc >= Math.max(o.minGapMs, 20 * this.#lastGcMs)) {
      // Near the target: old-generation garbage (small values' keys and requests) would otherwise
      // build up for tens of seconds before V8 collects it. Spaced so that the guard's collections
      // take at most ~5% of a core.
      [rss, rest] = this.#collect(now, footprint);
    } else if (this.pressureBytes > 0) {
      const grown = rest > this.#restAfterGc + o.targetBytes * 0.02;
      // Also while the rest reads as much as holds the pressure: what was in use at the last
      // collection (a flood's requests) may be garbage now, though the rest reads the same.
      // Growth since the last collection is new garbage, maybe: asked at the usual gap.
      const gapMs = grown ? o.reclaimGapMs : this.#reclaimGapMs;
      if ((grown || rest - allowed >= PRESSURE_STEP_BYTES) && sinceGc >= gapMs) {
        [rss, rest] = this.#collect(now, footprint);
        // One that found no room to give back, the rest not grown since the one before: what holds
        // the pressure is in use (an idle node's own memory, beside a large max_memory), and asking
        // again every reclaimGapMs would be a full collection every two seconds for ever. Each such
        // one doubles the gap, up to BACKOFF_GAP_MAX_MS; growth, or room given back, resets it.
        const givesBack = rest - allowed < this.pressureBytes - PRESSURE_STEP_BYTES;
        this.#reclaimGapMs =
          grown || givesBack ? o.reclaimGapMs : backedOff(this.#reclaimGapMs, o.reclaimGapMs);
      }
    }
    // What the window records: a reading that would make the store hold less is taken after a
    // collection, since a flood's garbage is no reason to evict; until the next may run, the
    // reading holds the pressure where it is.
    let counted = rest;
    const rising = () => rest - allowed >= this.pressureBytes + PRESSURE_STEP_BYTES;
    // While a confirmed rise is held (below), it is not confirmed again until the hold ends.
    const holding = this.#riseSince !== undefined && now - this.#riseSince < o.riseHoldMs;
    if (this.#gc && this.collections === collections && rising()) {
      if (!holding && sinceGc >= Math.max(o.minGapMs, 20 * this.#lastGcMs, this.#confirmGapMs)) {
        [rss, rest] = this.#collect(now, footprint);
        // A reading that rose by garbage alone: V8's young generation holds up to 16 MiB of it at
        // any time, so even an idle node's readings pass the pressure by a step every second or two.
        // Each confirmation that finds only garbage doubles the gap before the next, up to
        // BACKOFF_GAP_MAX_MS; one that finds the rise real resets it. Meanwhile the reading holds the
        // pressure where it is, and RSS near the target still collects (above) and presses.
        this.#confirmGapMs = rising() ? 0 : backedOff(this.#confirmGapMs, o.minGapMs);
      }
      counted = this.collections === collections ? Math.min(rest, allowed + this.pressureBytes) : rest;
    }
    // A rise counts only once it has lasted riseHoldMs from a reading a collection confirmed: a
    // burst of large requests takes memory while its messages are read, before the node can refuse
    // them and count it a flood (below). 32 GetMany of a million keys at a time made the store hold
    // 32 MiB less at the first reading, and that pressure, held through the next flood, evicted
    // keys written before both.
    if (!rising()) this.#riseSince = undefined;
    else {
      if (this.collections !== collections || !this.#gc) this.#riseSince ??= now;
      if (this.#riseSince === undefined || now - this.#riseSince < o.riseHoldMs)
        counted = Math.min(counted, allowed + this.pressureBytes);
    }
    // Clients flooding the node, now or within the window: what they take (and the garbage and
    // allocators' leftovers after them) is for their budgets to bound, by refusing them, not for the
    // store to make room for. Readings taken meanwhile hold the pressure where it is.
    const clientBytes = o.clientBytes();
    const overheadBytes = o.clientOverheadBytes();
    const refusedBytes = o.refusedBytes();
    const refusedPeak = this.#refusedPeak.record(now, refusedBytes - this.#refusedBytes);
    this.#refusedBytes = refusedBytes;
    // Connections opened in a burst: more open than the fewest of the window (clients that connect
    // and leave at a steady rate, or stay connected, are none of it).
    const openedPeak = this.#connectionsOpened.record(now, o.connectionsOpen());
    // Streams opened in a burst, likewise: 10 connections of 1,000 took RSS up by 30-40 MB.
    const streamsOpenedPeak = this.#streamsOpened.record(now, o.streamsHeld());
    const flooded =
      this.#clientPeak.record(now, clientBytes + overheadBytes) >= o.clientBudgetBytes / 8 ||
      refusedPeak >= o.clientBudgetBytes / 8 ||
      openedPeak * CONNECTION_BYTES >= o.clientBudgetBytes / 8 ||
      streamsOpenedPeak * STREAM_BYTES >= o.clientBudgetBytes / 8;
    if (flooded) counted = Math.min(counted, allowed + this.pressureBytes);
    if (flooded !== this.flooded)
      this.#floodedNow(flooded, {
        clientBytes,
        excessOverheadBytes: overheadBytes,
        refusedBytes: refusedPeak,
        connectionsOpened: openedPeak,
        streamsOpened: streamsOpenedPeak,
      });
    this.restBytes = rest;
    const peak = this.#restPeak.record(now, counted);
    // RSS above the target makes the store hold that much less than max_memory, whatever the rest
    // reads (the larger of the two, not their sum: the rest's growth is also in RSS). Not counted
    // from the footprint: the arena gives back what it evicts to an allocator that may keep it, and
    // the pressure would wind up while RSS stays.
    // Only once RSS has stayed above the target for OVER_HOLD_MS: the messages of a burst of large
    // requests take memory while they are read, before any budget can count them.
    // Nor by what the allocators keep of memory the process held and freed (a flood's Buffers, given
    // back to glibc, which keeps them for the next requests, native ones included): evicting would
    // not bring RSS down, and the store would lose keys to a flood long after it was over. Readings
    // cannot tell such memory from native memory that grew, so the credit is narrow: what RSS
    // holds beyond V8's accounts grew by since V8's external memory (Buffers: what goes through
    // glibc; V8's own heap pages do not) was at its high, up to what that external memory fell by.
    // The high starts again once RSS is within the target. Native memory that was there before the
    // high, or grows beyond the fall, presses.
    const unaccounted = rss - this.#accounted;
    if (rss <= o.targetBytes) {
      this.#overSince = undefined;
      this.#externalHigh = -Infinity;
    } else this.#overSince ??= now;
    if (this.#external > this.#externalHigh) {
      this.#externalHigh = this.#external;
      this.#unaccountedAtHigh = unaccounted;
    }
    const kept = Math.max(
      0,
      Math.min(unaccounted - this.#unaccountedAtHigh, this.#externalHigh - this.#external),
    );
    this.#kept = rss > o.targetBytes ? kept : 0;
    this.keptBytes = Math.min(this.#kept, Math.max(0, rss - o.targetBytes));
    let over =
      this.#overSince !== undefined && now - this.#overSince >= OVER_HOLD_MS
        ? Math.max(0, rss - o.targetBytes - kept)
        : 0;
    if (flooded) over = Math.min(over, this.pressureBytes);
    let wanted = Math.min(o.maxPressureBytes, Math.max(peak - allowed, over, 0));
    // Less than a step is not worth an eviction: what RSS reads just above the target is its noise.
    if (wanted < PRESSURE_STEP_BYTES) wanted = 0;
    if (
      Math.abs(wanted - this.pressureBytes) >= PRESSURE_STEP_BYTES ||
      (wanted === 0 && this.pressureBytes > 0)
    ) {
      this.#pressure(wanted);
    }
    return (
      !nudged &&
      !scavenged &&
      clientBytes === 0 &&
      this.collections === collections &&
      this.pressureBytes === pressureBefore &&
      rss - this.#kept <= o.targetBytes * AIM
    );
  }

  /**
   * The process's memory besides the store's footprint: what V8 holds in use and the native part,
   * less what the node holds for its clients within their budgets (`clientBytes`).
   */
  #restOf(footprint: number): number {
    const v8 = this.#opts.readV8();
    const client = this.#opts.clientBytes();
    this.#accounted = v8.heapTotal + v8.external + this.nativeBytes;
    // Less the store's footprint (its arena is in V8's external memory): what the store evicts under
    // pressure and gives back is no memory an allocator kept.
    this.#external = v8.external - footprint;
    return Math.max(0, v8.heapUsed + v8.external + this.nativeBytes - footprint - client);
  }

  /**
   * A young collection, when clients' large messages since the last passed YOUNG_COLLECTION_BYTES;
   * whether it ran.
   */
  #collectYoung(): boolean {
    const read = this.#opts.largeInputBytes();
    if (!this.#scavenge || read - this.#largeInputAtScavenge < YOUNG_COLLECTION_BYTES) return false;
    this.#largeInputAtScavenge = read;
    this.scavenges++;
    this.#scavenge();
    return true;
  }

  /** A full collection; RSS and the rest of the process after it. */
  #collect(now: number, footprint: number): [number, number] {
    this.#lastGcAt = now;
    this.collections++;
    const clock = this.#opts.scheduler;
    const startedAt = clock.now();
    this.#gc!();
    this.#lastGcMs = clock.now() - startedAt;
    this.#restAfterGc = this.#restOf(footprint);
    return [this.#opts.readRss(), this.#restAfterGc];
  }

  /** A flood starts or ends (once past the window): logged, since it holds the pressure back. */
  #floodedNow(
    flooded: boolean,
    signs: {
      clientBytes: number;
      excessOverheadBytes: number;
      refusedBytes: number;
      connectionsOpened: number;
      streamsOpened: number;
    },
  ): void {
    this.flooded = flooded;
    if (flooded)
      this.#opts.logger.warn(
        { ...signs, pressureBytes: this.pressureBytes },
        'clients are flooding the node: the store makes no more room until the flood has been over for a window',
      );
    else this.#opts.logger.info({ pressureBytes: this.pressureBytes }, 'the flood of clients is over');
  }

  #pressure(bytes: number): void {
    const next = Math.round(bytes);
    // A new rise is a burst whose garbage must be looked for again at the usual gaps once it ends.
    if (next > this.pressureBytes) {
      this.#reclaimGapMs = this.#opts.reclaimGapMs;
      this.#confirmGapMs = 0;
    }
    if (next > this.pressureBytes + 16 * PRESSURE_STEP_BYTES) {
      this.#opts.logger.info(
        { pressureBytes: next, targetBytes: this.#opts.targetBytes, restBytes: this.restBytes },
        'the process beyond the store needs more room: the store holds less',
      );
    }
    this.pressureBytes = next;
    this.#opts.setPressure?.(next);
  }
}

/**
 * How far a count rose above its fewest of a sliding window, at the most over the window: what
 * arrived in a burst. A count that grows or falls at a steady rate, or stays, rises by none of it.
 */
class WindowRise {
  /** The fewest of the window, negated (a WindowPeak keeps highs). */
  readonly #low: WindowPeak;
  readonly #rise: WindowPeak;

  constructor(windowMs: number) {
    this.#low = new WindowPeak(windowMs);
    this.#rise = new WindowPeak(windowMs);
  }

  /** Records `count` read at `now`; the highest rise of the window. */
  record(now: number, count: number): number {
    const low = -this.#low.record(now, -count);
    return this.#rise.record(now, count - low);
  }
}

/** The highest of readings over a sliding window, kept per tenth of it. */
class WindowPeak {
  /** The highest reading in each slot of the window: [slot, bytes]. */
  readonly #slots: [number, number][] = [];

  constructor(readonly windowMs: number) {}

  /** Records `bytes` read at `now`; the highest of the window. */
  record(now: number, bytes: number): number {
    const slot = Math.floor((now * WINDOW_SLOTS) / this.windowMs);
    const last = this.#slots[this.#slots.length - 1];
    if (last && last[0] === slot) last[1] = Math.max(last[1], bytes);
    else this.#slots.push([slot, bytes]);
    while (this.#slots[0]![0] <= slot - WINDOW_SLOTS) this.#slots.shift();
    let peak = -Infinity;
    for (const [, b] of this.#slots) if (b > peak) peak = b;
    return peak;
  }
}
