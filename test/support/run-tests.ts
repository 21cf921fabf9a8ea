import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  emptyResults,
  readResults,
  RESULTS_FILE_ENV,
  SUMMARY_PART_ENV,
  type SuiteResults,
} from './suite-results';

/**
 * `npm test` (after the build): every spec file of .mocharc.json, then one line `N passed, N failed`,
 * the sum of all. Arguments go to every mocha process, so `npm test -- --grep <pattern>` works as it
 * did with one.
 *
 * - fast: unit, simulator and fuzz suites, serially in one mocha process. In-process and CPU-bound
 *   (the simulator alone is ~100 s of CPU).
 * - cluster: every other spec file (integration, chaos, hosts, keyv, and any new folder). These
 *   mostly wait (for gossip, timeouts, restarts), each file on clusters it starts and stops itself.
 *   Each file runs in a mocha process of its own (~0.4 s of start-up), taken from one queue by
 *   lanes, so that the number of files running at once can grow while the suite runs.
 * By default (RINGCACHE_TEST_PARALLEL=auto) the fast part runs beside one cluster lane, and a second
 * lane (RINGCACHE_TEST_JOBS in all, default the number of cores, at least 2) joins when the fast part
 * ends: two CPU-heavy things at a time on this 2-core machine, never three, so nodes answer in time.
 * Under `--grep` (any argument) the cluster files run in one mocha process, which reaches the first
 * assertion of one test sooner than 31 start-ups would.
 *
 * Each process's output is held and printed whole when it ends, so that outputs never interleave;
 * the cluster part in one process (under arguments) is printed as it comes.
 *
 * RINGCACHE_RESULTS_FILE: where to write the combined SuiteResults (the soak runner reads them).
 * RINGCACHE_PART_TIMEOUT_MIN: a mocha process still running after this many minutes (default 20;
 * the whole suite took 12 min in one process at load 10 on 2 cores) is killed with everything it
 * started, and counts as one more failure that names the files left without results: a hung suite
 * must end CI, not stall it (a failed test whose loops never stop, awaiting only settled promises,
 * starves the event loop so that not even mocha's timeouts fire).
 */

interface Part {
  name: string;
  files: string[];
  /** Printed as it comes; otherwise held until it ends. */
  live: boolean;
}

interface PartOutcome {
  name: string;
  results: SuiteResults;
}

const ROOT = path.resolve(__dirname, '../../..');
/**
 * mocha's CLI itself. Its bin/mocha.js, given a node flag (the config's enable-source-maps), spawns
 * this again with it: a second process per file, 0.3 CPU-s each (17 CPU-s of a CI run). So the node
 * flags are given to node here, and the rest to mocha.
 */
const MOCHA = require.resolve('mocha/lib/cli/cli.js');
const NODE_FLAGS = new Set(['--enable-source-maps']);
const FAST_DIRS = ['dist/test/unit/', 'dist/test/sim/', 'dist/test/fuzz/'];
/**
 * Started first in the cluster part, as the longest files, so that with files in parallel none of
 * them is left to run alone at the end (serial wall times measured under load: rebalance 92 s, hosts 57 s, the rest
 * below 47 s). Files not listed follow in path order.
 */
const LONGEST_FIRST = [
  'dist/test/hosts/k8s-scale.test.js', // about 2 min alone
  'dist/test/chaos/rebalance.test.js',
  'dist/test/hosts/partition.test.js',
  'dist/test/chaos/read-modify-write.test.js',
  'dist/test/integration/large-values.test.js',
  'dist/test/chaos/kill.test.js',
  'dist/test/chaos/sdk-pause.test.js',
];
const IDLE_BEFORE_FLUSH_MS = 300;

function main(): void {
  const userArgs = process.argv.slice(2);
  const config = JSON.parse(readFileSync(path.join(ROOT, '.mocharc.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const specFiles = listSpecFiles(config.spec);
  const fast = specFiles.filter((f) => FAST_DIRS.some((d) => f.startsWith(d)));
  const rest = specFiles.filter((f) => !fast.includes(f));
  const cluster = [
    ...LONGEST_FIRST.filter((f) => rest.includes(f)),
    ...rest.filter((f) => !LONGEST_FIRST.includes(f)),
  ];
  // How much runs at once (RINGCACHE_TEST_PARALLEL), from least to most. Clean-clone CI runs here
  // (2 cores, other jobs on the machine at load 2-11), tests' wall time and failures:
  // - 0: the parts one after the other, one cluster file at a time: 7 min, no failure, load 6-11.
  // - parts: the two side by side, one cluster file at a time: 286-343 s.
  // - auto (default): as parts, plus more cluster lanes once the fast part has ended.
  // - 1: the parts side by side and RINGCACHE_TEST_JOBS cluster lanes from the start: 245 s and
  //   no failure at low load, but 4 failures per run at load 8-16 before the suite's flakes were
  //   fixed (1 MiB sets past their deadline, a ring change without its majority).
  const mode = process.env.RINGCACHE_TEST_PARALLEL ?? 'auto';
  if (!['0', 'parts', 'auto', '1'].includes(mode))
    throw new TypeError(`RINGCACHE_TEST_PARALLEL is ${mode}; expected 0, parts, auto or 1`);
  const jobs = Math.max(1, Number(process.env.RINGCACHE_TEST_JOBS ?? Math.max(2, os.availableParallelism())));
  const timeoutMs = Number(process.env.RINGCACHE_PART_TIMEOUT_MIN ?? '20') * 60_000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ringcache-test-run-'));
  const output = new Output();
  const flags = [...configFlags(config), ...userArgs];
  const run = (p: Part) => runPart(p, flags, tmp, timeoutMs, output);
  const fastPart: Part = { name: 'fast', files: fast, live: false };
  const runCluster = (laneCount: number, moreLanesAfter?: Promise<unknown>): Promise<PartOutcome> =>
    userArgs.length > 0
      ? run({ name: 'cluster', files: cluster, live: true })
      : runInLanes('cluster', cluster, run, laneCount, moreLanesAfter ? { moreLanesAfter, jobs } : undefined);
  let outcomes: Promise<PartOutcome[]>;
  if (mode === '0') {
    outcomes = run(fastPart).then(async (f) => [await runCluster(1), f]);
  } else {
    const fastDone = run(fastPart);
    const clusterDone =
      mode === '1' ? runCluster(jobs) : mode === 'auto' ? runCluster(1, fastDone) : runCluster(1);
    outcomes = Promise.all([clusterDone, fastDone]);
  }
  outcomes
    .then((outcomes) => {
      output.end();
      const total = summarize(outcomes);
      const resultsFile = process.env[RESULTS_FILE_ENV];
      if (resultsFile) writeFileSync(resultsFile, JSON.stringify(total, null, 2));
      process.exitCode = total.failed > 0 ? 1 : 0;
    })
    .catch((err: unknown) => {
      console.error(err);
      process.stdout.write('0 passed, 1 failed\n');
      process.exitCode = 1;
    })
    .finally(() => rmSync(tmp, { recursive: true, force: true }));
}

/** The spec files under the config's spec globs, which must be `<dir>/**\/*.test.js` ones. */
function listSpecFiles(spec: unknown): string[] {
  const globs = Array.isArray(spec) ? (spec as string[]) : [String(spec)];
  const files: string[] = [];
  for (const glob of globs) {
    const m = /^(.*)\/\*\*\/\*(\.[\w.]+)$/.exec(glob);
    if (!m) throw new Error(`.mocharc.json spec ${glob}: the runner only reads "<dir>/**/*<suffix>" globs`);
    files.push(...walk(m[1]!).filter((f) => f.endsWith(m[2]!)));
  }
  return [...new Set(files)].sort();
}

function walk(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
  );
}

/** The config's options (all but spec) as mocha flags, for mocha runs with --no-config. */
function configFlags(config: Record<string, unknown>): string[] {
  return Object.entries(config).flatMap(([key, value]) => {
    if (key === 'spec') return [];
    if (value === true) return [`--${key}`];
    if (value === false) return [`--no-${key}`];
    return (Array.isArray(value) ? value : [value]).flatMap((v) => [`--${key}`, String(v)]);
  });
}

/**
 * Runs each file in a mocha process of its own, `lanes` at a time, and `grow.jobs` at a time once
 * `grow.moreLanesAfter` has settled. Longer files first: the queue keeps the order of `files`.
 */
async function runInLanes(
  name: string,
  files: string[],
  run: (p: Part) => Promise<PartOutcome>,
  lanes: number,
  grow?: { moreLanesAfter: Promise<unknown>; jobs: number },
): Promise<PartOutcome> {
  const startedAt = Date.now();
  const queue = [...files];
  const total: SuiteResults = { ...emptyResults(), complete: true };
  const lane = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const label = `${name} ${path.relative('dist/test', file)}`;
      addResults(total, (await run({ name: label, files: [file], live: false })).results);
    }
  };
  const laneRuns = Array.from({ length: lanes }, lane);
  if (grow && grow.jobs > lanes) {
    const more = grow.jobs - lanes;
    laneRuns.push(
      grow.moreLanesAfter.then(() => Promise.all(Array.from({ length: more }, lane))).then(() => {}),
    );
  }
  await Promise.all(laneRuns);
  total.durationMs = Date.now() - startedAt;
  return { name, results: total };
}

/** Adds one run's results to a total (durations: the longest, as the runs overlap). */
function addResults(total: SuiteResults, results: SuiteResults): void {
  total.passed += results.passed;
  total.failed += results.failed;
  total.durationMs = Math.max(total.durationMs, results.durationMs);
  total.failures.push(...results.failures);
  total.skipped.push(...results.skipped);
  total.files.push(...results.files);
}

async function runPart(
  part: Part,
  flags: string[],
  tmp: string,
  timeoutMs: number,
  output: Output,
): Promise<PartOutcome> {
  const startedAt = Date.now();
  const resultsFile = path.join(tmp, `${part.name.replace(/[^\w.-]+/g, '_')}.json`);
  // Its own process group (detached), so that a hung part can be killed with all it started.
  const nodeFlags = flags.filter((f) => NODE_FLAGS.has(f));
  const mochaFlags = flags.filter((f) => !NODE_FLAGS.has(f));
  const args = [...nodeFlags, MOCHA, '--no-config', ...mochaFlags, ...part.files];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [RESULTS_FILE_ENV]: resultsFile, [SUMMARY_PART_ENV]: part.name },
  });
  running.add(child.pid!);
  const sink = output.sink(part);
  child.stdout.on('data', (chunk: Buffer) => sink.out(chunk));
  child.stderr.on('data', (chunk: Buffer) => sink.err(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid!);
  }, timeoutMs);
  const exit = await new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not start: ${err.message}`));
    child.once('close', (code, signal) =>
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`),
    );
  });
  clearTimeout(timer);
  killGroup(child.pid!); // whatever it left running (a node it failed to stop)
  running.delete(child.pid!);
  sink.close();
  const results = readResults(resultsFile);
  if (results?.complete && !timedOut) return { name: part.name, results };
  // Mocha crashed, or hung and was killed: what it saved so far, and the crash as one more failure.
  const why = timedOut ? `still running after ${timeoutMs / 60_000} min, killed (a hang)` : exit;
  const sofar = results ?? emptyResults();
  // Under --grep, files with no matching test have no results either.
  const unfinished = part.files.filter((f) => !sofar.files.includes(path.resolve(ROOT, f)));
  const named =
    unfinished.length > 8 ? [...unfinished.slice(0, 8), `and ${unfinished.length - 8} more`] : unfinished;
  return {
    name: part.name,
    results: {
      ...sofar,
      failed: sofar.failed + 1,
      durationMs: Date.now() - startedAt,
      failures: [
        ...sofar.failures,
        {
          title: `the ${part.name} part's mocha run`,
          message: `${why} before its summary; files without results: ${named.join(' ') || 'none'}`,
        },
      ],
    },
  };
}

/** Process groups of the parts still running. */
const running = new Set<number>();

// The parts run in process groups of their own, which a Ctrl-C at the terminal does not reach.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** Prints each part's summary and every failure, then the total counts line; returns the total. */
function summarize(outcomes: PartOutcome[]): SuiteResults {
  const total: SuiteResults = { ...emptyResults(), complete: true };
  const lines = ['', 'all parts:'];
  for (const { name, results } of outcomes) {
    lines.push(
      `  ${name}: ${results.passed} passed, ${results.failed} failed, ${results.skipped.length} skipped in ${Math.round(results.durationMs / 1000)} s`,
    );
    addResults(total, results);
  }
  const requiredSkips = total.skipped.filter((x) => x.required);
  if (total.failures.length || requiredSkips.length) lines.push('failed:');
  for (const f of total.failures) lines.push(`  - ${f.title}: ${f.message.split('\n')[0]}`);
  for (const s of requiredSkips) lines.push(`  - ${s.title}: skipped where it must run: ${s.reason}`);
  lines.push(`${total.passed} passed, ${total.failed} failed`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return total;
}

/**
 * One live part written through as it comes; the others held, and each written whole once it has
 * ended and the live part has been quiet for IDLE_BEFORE_FLUSH_MS (mocha --parallel writes a file's
 * results in one burst: a pause falls between two files, not inside one).
 */
class Output {
  readonly #held: Buffer[][] = [];
  #lastLiveWrite = 0;
  #liveEnded = false;
  #timer: NodeJS.Timeout | undefined;

  sink(part: Part): { out(b: Buffer): void; err(b: Buffer): void; close(): void } {
    if (part.live) {
      return {
        out: (b) => {
          this.#lastLiveWrite = Date.now();
          process.stdout.write(b);
        },
        err: (b) => process.stderr.write(b),
        close: () => {
          this.#liveEnded = true;
          this.#flush();
        },
      };
    }
    const chunks: Buffer[] = [];
    return {
      out: (b) => chunks.push(b),
      err: (b) => chunks.push(b),
      close: () => {
        this.#held.push(chunks);
        this.#flush();
      },
    };
  }

  end(): void {
    clearTimeout(this.#timer);
    this.#liveEnded = true;
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    if (!this.#held.length) return;
    const quietMs = Date.now() - this.#lastLiveWrite;
    if (!this.#liveEnded && quietMs < IDLE_BEFORE_FLUSH_MS) {
      this.#timer = setTimeout(() => this.#flush(), IDLE_BEFORE_FLUSH_MS - quietMs);
      return;
    }
    for (const chunks of this.#held.splice(0)) process.stdout.write(Buffer.concat(chunks));
  }
}

main();
