import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Ports for test nodes, which must be known before the nodes start (every node's cluster.yml lists
 * every address), so the nodes cannot bind port 0 themselves. Binding port 0 here, closing, and
 * handing the number over left a window in which the port could be taken before the node bound it:
 * by another mocha process picking ports the same way, or by the kernel as the ephemeral source port
 * of any outgoing connection. Two guards close it:
 * - ports come from below (or above) the kernel's ephemeral range, which the kernel never hands to
 *   an outgoing socket;
 * - each port is reserved across processes by a lock file created with O_EXCL and holding the
 *   reserving pid, so two processes running this code never get the same port.
 * A port is also checked to be bindable at the moment it is reserved (something else may listen).
 * Locks are kept for the life of the process (ports are plentiful) and removed at its exit; the lock
 * of a process that died without removing it is reclaimed by the next process that meets it.
 */

/** Lowest port handed out: below are well-known and registered ports that services commonly use. */
const FLOOR = 20_000;
const CEILING = 65_535;
/** Assumed when /proc cannot say: the union of Linux's default (32768-60999) and IANA's (49152-65535). */
const DEFAULT_EPHEMERAL: PortRange = [32_768, 65_535];
/**
 * An empty lock file is one whose creator has not written its pid yet (created, not yet written);
 * it is taken for stale only this long after it was last written, when its creator surely died.
 */
const UNWRITTEN_LOCK_MS = 60_000;

/** Inclusive [first, last]. */
export type PortRange = [number, number];

export interface ReserveOptions {
  /** Directory of the lock files. Default: `ringcache-test-ports` in os.tmpdir(). */
  lockDir?: string;
  /** Ranges to pick from. Default: FLOOR up to the ephemeral range, and from its end to 65535. */
  ranges?: PortRange[];
  /**
   * Whether a locked number may be used. Default: the port can be bound on 127.0.0.1 now. Numbers
   * that are not ports (a subnet's third octet) take any: the lock alone reserves them.
   */
  usable?: (n: number) => Promise<boolean>;
}

/** The kernel's range for ephemeral source ports, from /proc (Linux), or a conservative default. */
export function ephemeralPortRange(): PortRange {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux: fall through
  }
  return DEFAULT_EPHEMERAL;
}

/** The ports outside `ephemeral`, from FLOOR up. */
export function nonEphemeralRanges(ephemeral: PortRange = ephemeralPortRange()): PortRange[] {
  const ranges: PortRange[] = [
    [FLOOR, ephemeral[0] - 1],
    [Math.max(FLOOR, ephemeral[1] + 1), CEILING],
  ];
  return ranges.filter(([first, last]) => first <= last);
}

/** `count` distinct ports that no other process using this module holds, each bindable on 127.0.0.1 now. */
export function freePorts(count: number): Promise<number[]> {
  return reservePorts(count);
}

/** Lock directories this process has swept of dead processes' locks. */
const swept = new Set<string>();
/** Ports this process holds a lock for, per lock directory, removed at exit. */
const held = new Map<string, Set<number>>();
/** Where each process starts looking: a random place, so that processes starting together rarely meet. */
let cursor = -1;

export async function reservePorts(count: number, opts: ReserveOptions = {}): Promise<number[]> {
  const dir = opts.lockDir ?? path.join(os.tmpdir(), 'ringcache-test-ports');
  if (!swept.has(dir)) {
    mkdirSync(dir, { recursive: true });
    sweep(dir);
    swept.add(dir);
  }
  const ranges = opts.ranges ?? nonEphemeralRanges();
  const size = ranges.reduce((n, [first, last]) => n + last - first + 1, 0);
  if (cursor < 0) cursor = Math.floor(Math.random() * size);
  const out: number[] = [];
  for (let tried = 0; out.length < count; tried++) {
    if (tried >= size)
      throw new Error(
        `only ${out.length} of ${count} ports free in ${JSON.stringify(ranges)}; locks in ${dir}`,
      );
    const port = portAt(ranges, cursor++ % size);
    if (!lock(dir, port)) continue;
    if (await (opts.usable ?? bindable)(port)) out.push(port);
    else unlock(dir, port);
  }
  return out;
}

/**
 * Reclaims every lock of a dead process, once per process and directory. A process killed with
 * SIGKILL leaves its locks (a mocha worker: hundreds); met one by one, those far from where later
 * processes start looking could stay for good. A reclaim file is left only by a process that died
 * between moving a stale lock aside and deleting it.
 */
function sweep(dir: string): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith('.lock')) reclaimStale(file);
    const reclaimer = /\.(\d+)\.reclaim$/.exec(name);
    if (reclaimer && !isAlive(Number(reclaimer[1]))) unlinkQuietly(file);
  }
}

function portAt(ranges: PortRange[], index: number): number {
  let i = index;
  for (const [first, last] of ranges) {
    if (i <= last - first) return first + i;
    i -= last - first + 1;
  }
  throw new RangeError(`port index ${index} past the ranges`);
}

function lockFile(dir: string, port: number): string {
  return path.join(dir, `${port}.lock`);
}

/** Creates the port's lock file (O_EXCL), after reclaiming it from a dead holder if need be. */
function lock(dir: string, port: number): boolean {
  const file = lockFile(dir, port);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      if (!held.has(dir)) held.set(dir, new Set());
      held.get(dir)!.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!reclaimStale(file)) return false;
  }
  return false;
}

function unlock(dir: string, port: number): void {
  const file = lockFile(dir, port);
  held.get(dir)?.delete(port);
  // Only our own: should a lock of ours ever have been reclaimed by mistake, the new holder keeps it.
  if (holderOf(file) === process.pid) unlinkQuietly(file);
}

/**
 * Removes `file` when its holder is dead; true when it is gone (so creating it may be tried again).
 * Two processes may find the same stale lock at once:
 *   A reads holder 123 (dead); B reads holder 123 (dead);
 *   A moves the lock aside, sees 123 in it, deletes it, creates its own lock (holder A);
 *   B moves the lock aside: it is A's, not 123's.
 * So a reclaimer moves the lock to a name of its own first and only deletes it when it is still the
 * file it judged (same holder, same mtime); otherwise it links it back, and A's lock is as it was. (Were a third process
 * to lock the port in the instant between B's move and B's link back, both it and A would hold the
 * port; each process starts at a random place in thousands of ports, so three meeting on one port
 * in that instant is not a case worth more machinery.)
 */
function reclaimStale(file: string): boolean {
  const holder = holderOf(file);
  if (holder === 'missing') return true;
  const writtenAt = mtimeMs(file);
  if (holder === 'unwritten') {
    if (Date.now() - writtenAt < UNWRITTEN_LOCK_MS) return false;
  } else if (isAlive(holder)) {
    return false;
  }
  const aside = `${file}.${process.pid}.reclaim`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // another process reclaimed it
    throw err;
  }
  const same = holderOf(aside) === holder && mtimeMs(aside) === writtenAt;
  if (!same) {
    try {
      linkSync(aside, file);
    } catch {
      // a third process locked it meanwhile: see above
    }
  }
  unlinkQuietly(aside);
  return same;
}

/** The pid in a lock file; 'unwritten' when it is empty (or cut short), 'missing' when there is none. */
function holderOf(file: string): number | 'unwritten' | 'missing' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const pid = Number(text.trim());
  return text.endsWith('\n') && Number.isInteger(pid) && pid > 0 ? pid : 'unwritten';
}

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// Locks are files, which outlive the process: remove ours as it exits (a crash leaves them for
// reclaimStale). Node processes started on these ports are the test's to stop before it exits.
process.on('exit', () => {
  for (const [dir, ports] of held) for (const port of [...ports]) unlock(dir, port);
});
