import type { DriverSpec } from '../drivers/types';
import type { SystemId } from '../options';

/** The server's own count of the bytes it stores, where it keeps one (summed over its servers). */
export interface OwnAccounting {
  bytes: number;
  /** What was read, e.g. "INFO memory used_memory". */
  source: string;
}

/** A started system: its servers are running and serve. */
export interface RunningSystem {
  readonly spec: DriverSpec;
  /** Server processes whose CPU and RSS are counted (not the client). */
  serverPids(): number[];
  ownAccounting(): Promise<OwnAccounting | undefined>;
  /** Stops every server it started. Idempotent. */
  stop(): Promise<void>;
}

export interface SystemDef {
  readonly id: SystemId;
  /** Row label in the report. */
  readonly label: string;
  /** Why it cannot run on this machine, with how to install what is missing; undefined when it can. */
  unavailable(): string | undefined;
  /** Starts fresh servers on free 127.0.0.1 ports, keeping any files under `tmpDir`. */
  start(tmpDir: string): Promise<RunningSystem>;
}
