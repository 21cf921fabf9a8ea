import type { DriverSpec } from './drivers/types';
import type { KeyStyle } from './workload';

/**
 * Messages between main.ts and a client worker (one child process per system, so its CPU is its
 * own). The parent owns the clock: it says when measuring starts and stops and reads every process's
 * CPU at those moments.
 */
export type ToWorker =
  /** Store keys 0..count-1 of a style with `inFlight` sets outstanding. */
  | { type: 'fill'; style: KeyStyle; count: number; inFlight: number }
  /** Start the closed loop over `keys` keys (not yet recorded). */
  | { type: 'run'; concurrency: number; keys: number; seed: number }
  | { type: 'measure' }
  /** Stop recording, drain the loop, answer with a PointResult. */
  | { type: 'stop' }
  | { type: 'close' };

export interface PointResult {
  ops: number;
  elapsedS: number;
  /** Gets that found nothing: every key is preloaded, so anything but 0 means lost data. */
  misses: number;
  failed: number;
  firstError?: string;
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; done: number }
  | { type: 'filled'; failed: number; firstError?: string }
  | { type: 'running' }
  | { type: 'result'; result: PointResult }
  | { type: 'error'; message: string };

/** argv[2] of the worker: the system to connect to. */
export interface WorkerArgs {
  spec: DriverSpec;
}
