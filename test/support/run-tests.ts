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
 * `npm test` (after the build): every spec file of .mocharc.json in two mocha processes, then one
 * line `N passed, N failed`, the sum of both. Arguments go to both mocha processes, so
 * `npm test -- --grep <pattern>` works as it did with one.
 *
 * - fast: unit, simulator and fuzz suites, serially in one process. In-process and CPU-bound (the
 *   simulator alone is ~100 s of CPU).
 * - cluster: every other spec file (integration, chaos, hosts, keyv, and any new folder). These
 *   mostly wait (for gossip, timeouts, restarts), each file on clusters it starts and stops itself.
 * By default the two run side by side, the cluster files one at a time; RINGCACHE_TEST_PARALLEL
 * says otherwise (see main). RINGCACHE_TEST_JOBS: jobs for cluster files run in parallel, default
 * the number of cores, at least 2 (3 jobs on 2 cores had nodes taking over 15 s to start serving).
 *
 * The cluster part is printed as it comes; the fast part's output is held and printed whole, when
 * the cluster output pauses, so the two never interleave.
 *
 * RINGCACHE_RESULTS_FILE: where to write the combined SuiteResults (the soak runner reads them).
 * RINGCACHE_PART_TIMEOUT_MIN: a part still running after this many minutes (default 20; the whole
 * suite took 12 min in one process at load 10 on 2 cores) is killed with everything it started, and
 * counts as one more failure that names the files left without results: a hung suite must end CI,
 * not stall it (a failed test whose loops never stop, awaiting only settled promises, starves the
 * event loop so that not even mocha's timeouts fire).
 */

interface Part {
  name: string;
  files: string[];
  mochaArgs: string[];
  /** Printed as it comes; otherwise held until it ends. */
  live: boolean;
}

interface PartOutcome {
  name: string;
  results: SuiteResults;
}

const ROOT = path.resolve(__dirname, '../../..');
const MOCHA = require.resolve('mocha/bin/mocha.js');
const FAST_DIRS = ['dist/test/unit/', 'dist/test/sim/', 'dist/test/fuzz/'];
/**
 * Started first in the cluster part, as the longest files, so that with files in parallel none of
 * them is left to run alone at the end (serial wall times measured under load: rebalance 92 s, hosts 57 s, the rest
 * below 47 s). Files not listed follow in path order.
 */
const LONGEST_FIRST = [
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
  // - 0: the parts one after the other, the cluster files one at a time: the suite as one mocha
  //   process ran it (7 min, no failure, at load 6-11).
  // - parts (default): the two side by side, the cluster files one at a time, so that the simulator
  //   and the cluster file each have a core: 286 s, 1 failure (elasticity's concurrent ring
  //   changes, which failed in the other modes too) at load 2-5.
  // - 1: the parts side by side and the cluster files in parallel, RINGCACHE_TEST_JOBS at a time:
  //   ~380 s and 4 failures per run at load 8-16 (1 MiB sets past their deadline, a ring change
  //   without its majority, hosts whose namespaces could not reach each other, a copy count).
  const mode = process.env.RINGCACHE_TEST_PARALLEL ?? 'parts';
  if (!['0', 'parts', '1'].includes(mode))
    throw new TypeError(`RINGCACHE_TEST_PARALLEL is ${mode}; expected 0, parts or 1`);
  const jobs = process.env.RINGCACHE_TEST_JOBS ?? String(Math.max(2, os.availableParallelism()));
  const parts: Part[] = [
    {
      name: 'cluster',
      files: cluster,
      mochaArgs: mode === '1' ? ['--parallel', '--jobs', jobs] : [],
      live: true,
    },
    { name: 'fast', files: fast, mochaArgs: [], live: false },
  ];
  const timeoutMs = Number(process.env.RINGCACHE_PART_TIMEOUT_MIN ?? '20') * 60_000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ringcache-test-run-'));
  const output = new Output();
  const flags = [...configFlags(config), ...userArgs];
  const run = (p: Part) => runPart(p, flags, tmp, timeoutMs, output);
  (mode !== '0'
    ? Promise.all(parts.map(run))
    : parts.reduce<Promise<PartOutcome[]>>(
        (done, p) => done.then(async (outcomes) => [...outcomes, await run(p)]),
        Promise.resolve([]),
      )
  )
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

async function runPart(
  part: Part,
  flags: string[],
  tmp: string,
  timeoutMs: number,
  output: Output,
): Promise<PartOutcome> {
  const startedAt = Date.now();
  const resultsFile = path.join(tmp, `${part.name}.json`);
  // Its own process group (detached), so that a hung part can be killed with all it started.
  const child = spawn(process.execPath, [MOCHA, '--no-config', ...flags, ...part.mochaArgs, ...part.files], {
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
    total.passed += results.passed;
    total.failed += results.failed;
    total.durationMs = Math.max(total.durationMs, results.durationMs);
    total.failures.push(...results.failures);
    total.skipped.push(...results.skipped);
    total.files.push(...results.files);
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
