import { readFileSync } from 'node:fs';

/** Names a file the summary reporter writes its SuiteResults to as JSON at the end of a run. */
export const RESULTS_FILE_ENV = 'RINGCACHE_RESULTS_FILE';
/** Names the part of a larger run this mocha process is; its counts line is labelled with it. */
export const SUMMARY_PART_ENV = 'RINGCACHE_SUMMARY_PART';

/** One mocha run's results, as the summary reporter counted them. */
export interface SuiteResults {
  passed: number;
  /** Failed tests and hooks, plus required suites that skipped where they must run. */
  failed: number;
  durationMs: number;
  failures: { title: string; file?: string; message: string }[];
  skipped: { title: string; reason: string; required: boolean }[];
}

/** The results a run wrote, or undefined when it wrote none (mocha crashed or was killed first). */
export function readResults(file: string): SuiteResults | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SuiteResults;
  } catch {
    return undefined;
  }
}
