import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { RingCacheError } from '../../src/errors';

/**
 * Everything bench:compare starts is registered here, so that it is stopped on a normal end, on a
 * failure, on Ctrl-C (SIGINT/SIGTERM: graceful stop, then exit 130) and, as a last resort, on
 * process exit (a synchronous SIGKILL of every registered process group or pid).
 */
interface Owned {
  stop(): Promise<void>;
  /** Pids to SIGKILL on exit; a negative pid names a process group. */
  pids(): number[];
}

const owned = new Set<Owned>();
let handlersInstalled = false;

function killNow(): void {
  for (const o of owned) {
    for (const pid of o.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Registers a running thing; returns a function that unregisters it (call it once it is stopped). */
export function own(o: Owned): () => void {
  installHandlers();
  owned.add(o);
  return () => owned.delete(o);
}

/** Stops everything still registered (each at most once; errors are swallowed, the goal is cleanup). */
export async function stopAll(): Promise<void> {
  const all = [...owned];
  owned.clear();
  await Promise.all(all.map((o) => o.stop().catch(() => undefined)));
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping every process bench:compare started\n`);
      // A second Ctrl-C, or a stop that hangs, still ends everything through the exit handler.
      process.once(signal, () => process.exit(130));
      const deadline = setTimeout(() => process.exit(130), 10_000);
      deadline.unref();
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** The absolute path of an executable found on PATH (or in /usr/sbin, /usr/local/bin), if any. */
export function findCommand(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface ServerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last lines of its output, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Starts a server binary in its own process group (detached), so that stopping it also stops anything
 * it forked, and registers it. `stop()` sends SIGTERM to the group, SIGKILL after 5 s.
 */
export function spawnServer(command: string, args: string[], cwd: string): ServerProcess {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined)
    throw new RingCacheError('UNAVAILABLE', `could not start ${command} ${args.join(' ')}`);
  const pid = child.pid;
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));
  const stop = async () => {
    if (!alive) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const forget = own({ stop, pids: () => (alive ? [-pid] : []) });
  return {
    pid,
    child,
    tail: () => lines.join('\n'),
    stop: () => stop().finally(forget),
  };
}
