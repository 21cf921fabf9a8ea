import fc from 'fast-check';
import type { Violation } from './history';
import { runSchedule } from './run';
import { SCENARIOS, type SimSchedule } from './schedule';

export interface SeedFailure {
  seed: number;
  /** Shrunk by fast-check: the shortest schedule it found that still fails. */
  schedule: SimSchedule;
  violations: Violation[];
}

export interface ExploreReport {
  /** Schedules run, shrinking included. */
  runs: number;
  failures: SeedFailure[];
}

/**
 * Runs seeds [seedStart, seedStart + seeds) of a scenario: each seed draws one schedule (fast-check's
 * generator, seeded) and runs it with the same seed for the network. A failing schedule is shrunk
 * (fewer steps, simpler values) for at most `shrinkMs` of real time.
 */
export async function explore(
  scenario: string,
  seedStart: number,
  seeds: number,
  progress?: (done: number) => void,
  shrinkMs = 60_000,
  /** Each failing seed as soon as it is shrunk: a long run that is stopped loses none it found. */
  onFailure?: (failure: ExploreReport['failures'][number]) => void,
): Promise<ExploreReport> {
  const arbitrary = SCENARIOS[scenario];
  if (!arbitrary) throw new Error(`unknown scenario ${scenario}`);
  const report: ExploreReport = { runs: 0, failures: [] };
  for (let seed = seedStart; seed < seedStart + seeds; seed++) {
    const property = fc.asyncProperty(arbitrary(), async (schedule) => {
      report.runs++;
      const result = await runSchedule(schedule, seed);
      return result.violations.length === 0;
    });
    const out = await fc.check(property, {
      seed,
      numRuns: 1,
      interruptAfterTimeLimit: shrinkMs,
      markInterruptAsFailure: false,
    });
    if (out.failed && out.counterexample) {
      const [schedule] = out.counterexample;
      const result = await runSchedule(schedule, seed);
      const failure = { seed, schedule, violations: result.violations };
      report.failures.push(failure);
      onFailure?.(failure);
    }
    progress?.(seed - seedStart + 1);
  }
  return report;
}
