import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';

/**
 * Why tests were skipped, kept where the summary reporter can list them: a test that skips at run
 * time (a tool missing, not root) must never look like one that passed, nor vanish into a count.
 *
 * The reporter names a file in RINGCACHE_SKIP_LOG before the run; skipBecause appends one JSON line
 * to it. A file, not memory, because with `mocha --parallel` the tests run in worker processes and
 * mocha hands the reporter only a fixed set of each test's fields, none of which can carry a reason.
 */
export const SKIP_LOG_ENV = 'RINGCACHE_SKIP_LOG';

export interface SkipRecord {
  /** Title path of the skipped test, or of the suite whose before-all hook skipped (all its tests). */
  titlePath: string[];
  reason: string;
  /** Whether the skipped suite is one CI is meant to run: see suitesRequired(). */
  required: boolean;
}

export interface SkipOptions {
  /**
   * The suite is one CI is meant to run (`.ci/run` installs what it needs). Where suites are required
   * (suitesRequired()), the reporter counts such a skip as a failure, so that CI cannot go green
   * without the suite having run. Default false.
   */
  required?: boolean;
}

/**
 * Skips the current test (or, from a before-all hook, the suite) saying why. Like `ctx.skip()` it
 * throws, so nothing after it runs.
 */
export function skipBecause(ctx: Mocha.Context, reason: string, opts: SkipOptions = {}): never {
  // In a before-all hook ctx.test is the hook (and ctx.currentTest the suite's first test): the
  // skip is the whole suite's. In a before-each hook ctx.currentTest is the test it skips.
  const hook = ctx.test && (ctx.test as Mocha.Hook).type === 'hook' ? ctx.test : undefined;
  const skipped = hook?.title.startsWith('"before all" hook') ? hook.parent : (ctx.currentTest ?? ctx.test);
  const record: SkipRecord = {
    titlePath: skipped?.titlePath() ?? [],
    reason,
    required: opts.required ?? false,
  };
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${JSON.stringify(record)}\n`);
  else console.log(`      skipped: ${reason}`); // no summary reporter to list it at the end
  return ctx.skip();
}

export function readSkipLog(file: string): SkipRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SkipRecord);
}

/** The record that explains a skipped test: its own, or that of its nearest skipped suite. */
export function reasonFor(titlePath: string[], records: SkipRecord[]): SkipRecord | undefined {
  let best: SkipRecord | undefined;
  for (const r of records) {
    const prefix = r.titlePath.length <= titlePath.length && r.titlePath.every((t, i) => t === titlePath[i]);
    if (prefix && r.titlePath.length > (best?.titlePath.length ?? -1)) best = r;
  }
  return best;
}

/**
 * Whether a skip marked `required` fails the run. RINGCACHE_REQUIRE_SUITES=1 says yes and =0 says no;
 * unset, the answer is yes under CI (CI=true) on a machine where `.ci/run` can install what those
 * suites need (root, with apt-get), since a skip there means the install or the suite broke.
 */
export function suitesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.RINGCACHE_REQUIRE_SUITES;
  if (flag === '1') return true;
  if (flag === '0') return false;
  return env.CI === 'true' && process.getuid?.() === 0 && hasCommand('apt-get');
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
