import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyResults, readResults, RESULTS_FILE_ENV, type SuiteResults } from './suite-results';

/**
 * `npm run test:soak -- --runs 10 [--grep <pattern>] [--busy K]`: the suite N times in a row, each
 * run exactly as `npm test` runs it after its build (run-tests.js), then a table of every run
 * (passed, failed, duration) and of every test that failed in any run, with how often. A flaky test
 * shows as a count below N; a test that fails under load only shows with --busy, which keeps K
 * processes spinning on the CPU for the length of the soak (as other jobs on a CI machine would).
 *
 * Each run's output goes to a log file (its path is printed), the results come from the JSON file
 * the runner writes (RINGCACHE_RESULTS_FILE).
 */

interface Options {
  runs: number;
  grep: string | undefined;
  busy: number;
}

interface Run {
  results: SuiteResults;
  durationMs: number;
  log: string;
}

const RUN_TESTS = path.join(__dirname, 'run-tests.js');
const USAGE = 'usage: npm run test:soak -- [--runs N] [--grep <pattern>] [--busy K]';

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 5, grep: undefined, busy: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new TypeError(`${flag} needs a value; ${USAGE}`);
    if (flag === '--runs') opts.runs = count(flag, value, 1);
    else if (flag === '--busy') opts.busy = count(flag, value, 0);
    else if (flag === '--grep') opts.grep = value;
    else throw new TypeError(`unknown option ${flag}; ${USAGE}`);
  }
  return opts;
}

function count(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new TypeError(`${flag} is ${value}; expected an integer >= ${min}`);
  return n;
}

/** K processes that spin until killed: competition for the cores, as a loaded CI machine has. */
function startBusy(k: number): ChildProcess[] {
  return Array.from({ length: k }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

async function runOnce(i: number, opts: Options, dir: string): Promise<Run> {
  const log = path.join(dir, `run-${i}.log`);
  const resultsFile = path.join(dir, `run-${i}.json`);
  const args = [RUN_TESTS, ...(opts.grep === undefined ? [] : ['--grep', opts.grep])];
  const startedAt = Date.now();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [RESULTS_FILE_ENV]: resultsFile },
  });
  const out = createWriteStream(log);
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const [code] = (await once(child, 'close')) as [number | null];
  out.end();
  const durationMs = Date.now() - startedAt;
  const results = readResults(resultsFile) ?? {
    ...emptyResults(),
    failed: 1,
    durationMs,
    failures: [{ title: '(the test runner itself)', message: `exited with code ${code} before its summary` }],
  };
  return { results, durationMs, log };
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function report(runs: Run[]): string {
  const lines = ['', 'run  passed  failed  skipped  duration'];
  runs.forEach((r, i) => {
    const { passed, failed, skipped } = r.results;
    lines.push(
      `${String(i + 1).padStart(3)}  ${String(passed).padStart(6)}  ${String(failed).padStart(6)}  ${String(skipped.length).padStart(7)}  ${formatDuration(r.durationMs).padStart(8)}`,
    );
  });
  const failures = new Map<string, { runs: number[]; message: string }>();
  runs.forEach((r, i) => {
    for (const f of r.results.failures) {
      const seen = failures.get(f.title) ?? { runs: [], message: f.message.split('\n')[0]! };
      if (!seen.runs.includes(i + 1)) seen.runs.push(i + 1);
      failures.set(f.title, seen);
    }
  });
  lines.push('');
  if (!failures.size) lines.push(`no test failed in ${runs.length} runs`);
  else {
    lines.push(`failures by test over ${runs.length} runs:`, 'failed  test (runs; first message)');
    const sorted = [...failures].sort(
      (a, b) => b[1].runs.length - a[1].runs.length || a[0].localeCompare(b[0]),
    );
    for (const [title, f] of sorted)
      lines.push(
        `${`${f.runs.length}/${runs.length}`.padStart(6)}  ${title} (runs ${f.runs.join(',')}; ${f.message})`,
      );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-soak-'));
  console.log(
    `${opts.runs} runs${opts.grep === undefined ? '' : ` of --grep ${opts.grep}`}` +
      `${opts.busy ? ` with ${opts.busy} busy processes` : ''}; logs in ${dir}`,
  );
  const busy = startBusy(opts.busy);
  const stopBusy = () => busy.forEach((b) => b.kill('SIGKILL'));
  process.once('exit', stopBusy); // also on Ctrl-C: the spinners must not outlive the soak
  process.once('SIGINT', () => process.exit(130));
  const runs: Run[] = [];
  try {
    for (let i = 1; i <= opts.runs; i++) {
      const run = await runOnce(i, opts, dir);
      runs.push(run);
      const { passed, failed } = run.results;
      console.log(
        `run ${i}/${opts.runs}: ${passed} passed, ${failed} failed in ${formatDuration(run.durationMs)} (${run.log})`,
      );
    }
  } finally {
    stopBusy();
  }
  console.log(report(runs));
  process.exitCode = runs.some((r) => r.results.failed > 0) ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
