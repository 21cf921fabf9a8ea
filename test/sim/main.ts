import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatViolations } from './checkers';
import { explore } from './explore';
import { runSchedule } from './run';
import { GREEN_SCENARIOS, SCENARIOS, type SimSchedule } from './schedule';

/**
 * `npm run sim -- [--scenario NAME] [--seeds N] [--seed-start S] [--replay FILE]`
 * Explores N seeds of a scenario (every green one by default); a failing seed is shrunk by fast-check
 * and its trace written to sim-traces/, replayable with --replay.
 */
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const replay = flag('replay');
  if (replay) {
    const trace = JSON.parse(readFileSync(replay, 'utf8')) as { seed: number; schedule: SimSchedule };
    const result = await runSchedule(trace.schedule, trace.seed);
    console.log(
      `replayed ${replay}: ${result.history.length} operations, ${result.eventsRun} events, fingerprint ${result.fingerprint}`,
    );
    console.log(result.violations.length === 0 ? 'no violations' : formatViolations(result.violations));
    process.exitCode = result.violations.length === 0 ? 0 : 1;
    return;
  }
  const seeds = Number(flag('seeds') ?? 100);
  const seedStart = Number(flag('seed-start') ?? 1);
  const named = flag('scenario');
  if (named !== undefined && !(named in SCENARIOS)) {
    throw new Error(`--scenario ${named} is unknown; known: ${Object.keys(SCENARIOS).join(', ')}`);
  }
  const scenarios = named ? [named] : Object.keys(GREEN_SCENARIOS);
  const started = Date.now();
  let failures = 0;
  for (const scenario of scenarios) {
    const report = await explore(
      scenario,
      seedStart,
      seeds,
      (done) => {
        process.stderr.write(
          `\r${scenario}: ${done}/${seeds} seeds, ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      },
      undefined,
      (f) => {
        failures++;
        const dir = path.resolve('sim-traces');
        mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${scenario}-seed-${f.seed}.json`);
        writeFileSync(file, JSON.stringify({ seed: f.seed, schedule: f.schedule }, null, 1));
        process.stderr.write('\n');
        console.log(
          `${scenario} seed ${f.seed} FAILED (shrunk to ${f.schedule.steps.length} steps): ${file}`,
        );
        console.log(formatViolations(f.violations));
      },
    );
    process.stderr.write('\n');
    console.log(
      `${scenario}: ${report.runs} runs of ${seeds} seeds from ${seedStart}, ${report.failures.length} failing`,
    );
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
