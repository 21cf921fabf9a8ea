import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatViolations } from './checkers';
import { explore } from './explore';
import { runSchedule } from './run';
import { GREEN_SCENARIOS, SCENARIOS, type SimSchedule } from './schedule';

const USAGE = `npm run sim -- [--scenario NAME] [--seeds N] [--seed-start S] [--replay FILE]

Explores N seeds (default 100) of a scenario, from seed S (default 1); every green scenario when
--scenario is left out. A failing seed is shrunk and its trace written to sim-traces/, which
--replay FILE runs again (SIM_LOG=debug shows the nodes' logs).

Scenarios: ${Object.keys(SCENARIOS).join(', ')}
`;

/**
 * `npm run sim -- [--scenario NAME] [--seeds N] [--seed-start S] [--replay FILE]`
 * Explores N seeds of a scenario (every green one by default); a failing seed is shrunk by fast-check
 * and its trace written to sim-traces/, replayable with --replay. --help prints the usage; a flag it
 * does not know, or a count that is not a whole number, is refused (exit 2) rather than start a run
 * of minutes on defaults.
 */
function flags(): { scenario?: string; seeds: number; seedStart: number; replay?: string } | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        scenario: { type: 'string' },
        seeds: { type: 'string' },
        'seed-start': { type: 'string' },
        replay: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const whole = (name: string, fallback: number, least: number): number | undefined => {
    const given = values[name];
    if (given === undefined) return fallback;
    const n = Number(given);
    return Number.isSafeInteger(n) && n >= least ? n : undefined;
  };
  const seeds = whole('seeds', 100, 1);
  const seedStart = whole('seed-start', 1, 0);
  if (seeds === undefined)
    return usageError(`--seeds ${String(values.seeds)} is not a whole number of 1 or more`);
  if (seedStart === undefined)
    return usageError(`--seed-start ${String(values['seed-start'])} is not a whole number of 0 or more`);
  const scenario = values.scenario as string | undefined;
  if (scenario !== undefined && !(scenario in SCENARIOS))
    return usageError(`--scenario ${scenario} is unknown; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return { scenario, seeds, seedStart, replay: values.replay as string | undefined };
}

function usageError(message: string): undefined {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exitCode = 2;
  return undefined;
}

async function main(): Promise<void> {
  const given = flags();
  if (!given) return;
  const { replay, seeds, seedStart, scenario: named } = given;
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
