import { readFileSync } from 'node:fs';

/** Names a file the summary reporter writes its SuiteResults to as JSON at the end of a run. */
export const RESULTS_FILE_ENV = 'RINGCACHE_RESULTS_FILE';
/** Names the part of a larger run this mocha process is; its counts line is labelled with it. */
export const SUMMARY_PART_ENV = 'RINGCACHE_SUMMARY_PART';

/** One mocha run's results, as the summary reporter counted them. */
export interface SuiteResults {
  /** False while the run is going on (the reporter saves as it goes), or when it never ended. */
  complete: boolean;
  passed: number;
  /** Failed tests and hooks, plus required suites that skipped where they must run. */
  failed: number;
  durationMs: number;
  failures: { title: string; file?: string; message: string }[];
  skipped: { title: string; reason: string; required: boolean }[];
  /** Spec files (absolute) with at least one result. */
  files: string[];
}

/** The results a run wrote (so far), or undefined when it wrote none. */
export function readResults(file: string): SuiteResults | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SuiteResults;
  } catch {
    return undefined;
  }
}

/** Results with nothing in them yet. */
export function emptyResults(): SuiteResults {
  return { complete: false, passed: 0, failed: 0, durationMs: 0, failures: [], skipped: [], files: [] };
}
