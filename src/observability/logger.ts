import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger of a process. Components get a child through their constructor
 * (`root.child({ component: 'replication' })`), never a module-level logger.
 * Level from RINGCACHE_LOG_LEVEL (default info); JSON lines on stderr so stdout stays for CLI output.
 */
export function createRootLogger(bindings: Record<string, string> = {}, level?: string): Logger {
  return pino(
    { level: level ?? process.env.RINGCACHE_LOG_LEVEL ?? 'info', base: { pid: process.pid, ...bindings } },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything: for unit tests and library use without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
