import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Mocha from 'mocha';
import { readSkipLog, reasonFor, SKIP_LOG_ENV, suitesRequired, type SkipRecord } from './skip-reasons';
import { RESULTS_FILE_ENV, SUMMARY_PART_ENV, type SuiteResults } from './suite-results';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_END, EVENT_TEST_FAIL, EVENT_TEST_PENDING } =
  Mocha.Runner.constants;

/**
 * Mocha's spec output, then every skipped test by full title with its reason (skipBecause), then the
 * plain line `N passed, N failed` that CI reads. Counts come from the runner's own stats; a failing
 * hook counts as a failure, so a broken suite can never print "0 failed". A skip marked `required`
 * counts as a failure too where suites are required (suitesRequired()), and sets the exit code.
 *
 * Works in serial and in `--parallel` mode (skip reasons come through a file the workers append to).
 * RINGCACHE_RESULTS_FILE: also write the results as JSON there (SuiteResults), after every test and
 * at the end, for the suite runner and the soak runner. RINGCACHE_SUMMARY_PART: the run is one part of a larger one; its counts line
 * is labelled with the part's name, so that the only plain counts line is the runner's total.
 */
class SummaryReporter extends Mocha.reporters.Spec {
  readonly #runner: Mocha.Runner;
  readonly #skipDir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-skips-'));
  readonly #suitesRequired = suitesRequired();
  readonly #failures: SuiteResults['failures'] = [];
  readonly #pending: string[][] = [];
  readonly #files = new Set<string>();
  #startedAt = Date.now();
  #requiredSkips = 0;

  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    this.#runner = runner;
    // Set before any test runs, and before --parallel forks its workers, which inherit it.
    process.env[SKIP_LOG_ENV] = path.join(this.#skipDir, 'skips.jsonl');
    runner.once(EVENT_RUN_BEGIN, () => (this.#startedAt = Date.now()));
    runner.on(EVENT_TEST_PENDING, (test: Mocha.Test) => this.#pending.push(test.titlePath()));
    runner.on(EVENT_TEST_FAIL, (test: Mocha.Runnable, err: Error) => {
      this.#failures.push({ title: test.fullTitle(), file: test.file, message: err?.message ?? String(err) });
      this.#saved(test);
    });
    runner.on(EVENT_TEST_END, (test: Mocha.Test) => this.#saved(test));
    runner.once(EVENT_RUN_END, () => this.#summarize());
  }

  /** The results so far; `complete` once the run has ended. */
  #results(complete: boolean): SuiteResults {
    const records = readSkipLog(process.env[SKIP_LOG_ENV]!);
    const skipped = this.#pending.map((titlePath) => {
      const r: SkipRecord | undefined = reasonFor(titlePath, records);
      const required = this.#suitesRequired && !!r?.required;
      return { title: titlePath.join(' '), reason: r?.reason ?? 'no reason given', required };
    });
    this.#requiredSkips = skipped.filter((s) => s.required).length;
    const stats = this.#runner.stats ?? { passes: 0, failures: 0 };
    return {
      complete,
      passed: stats.passes,
      failed: stats.failures + this.#requiredSkips,
      durationMs: Date.now() - this.#startedAt,
      failures: this.#failures,
      skipped,
      files: [...this.#files],
    };
  }

  /**
   * Saves the results so far after each test: should mocha then hang (a test's leftover loop that
   * never yields) or crash, the runner that kills it still knows what passed and which files did
   * not finish.
   */
  #saved(test: Mocha.Runnable): void {
    if (test.file) this.#files.add(test.file);
    const file = process.env[RESULTS_FILE_ENV];
    if (file) writeFileSync(file, JSON.stringify(this.#results(false)));
  }

  #summarize(): void {
    const results = this.#results(true);
    rmSync(this.#skipDir, { recursive: true, force: true });
    const out: string[] = [];
    if (results.skipped.length) {
      out.push(`${results.skipped.length} skipped:`);
      for (const s of results.skipped)
        out.push(`  - ${s.title}: ${s.reason}${s.required ? ' [REQUIRED: counted as failed]' : ''}`);
      if (this.#requiredSkips)
        out.push(
          `${this.#requiredSkips} of them belong to suites this machine must run (RINGCACHE_REQUIRE_SUITES, or CI as root with apt-get): counted as failed`,
        );
    }
    const part = process.env[SUMMARY_PART_ENV];
    out.push(`${part ? `[${part}] ` : ''}${results.passed} passed, ${results.failed} failed`);
    process.stdout.write(`${out.join('\n')}\n`);
    const file = process.env[RESULTS_FILE_ENV];
    if (file) writeFileSync(file, JSON.stringify(results, null, 2));
  }

  /** Mocha's exit code is what this passes on: required skips fail the run like failures do. */
  override done(failures: number, fn?: (failures: number) => void): void {
    fn?.(failures + this.#requiredSkips);
  }
}

export = SummaryReporter;
