import type { Scheduler } from './types';

/**
 * Wall-clock time and real timers. Timers are unref()'d: gossip alone must not keep a process alive,
 * and stop() clears them anyway. now() is Date.now() (not performance.now()) because it also seeds a
 * fresh node's incarnation, which must outbid whatever the cluster remembers from its previous life.
 */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
