import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * Schedules that once broke a promise, as the simulator's shrinker left them (test/sim/broken-seeds/,
 * replayable with `npm run sim -- --replay <file>`): nemesis mix 62337 (silent-node-ring.test.ts),
 * 63830 (lost-hints.test.ts), and flush-in-flight 199, whose flush deleted what each node held when
 * it reached it, and a copy of an acknowledged set that landed on a replica after that was read again
 * (cluster/flush.ts now fences).
 */
describe('the simulator schedules that once broke a promise', function () {
  this.timeout(120_000);
  const dir = path.resolve(__dirname, '../../../test/sim/broken-seeds');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    it(`${file} breaks none now`, async () => {
      const trace = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
        seed: number;
        schedule: SimSchedule;
      };
      const result = await runSchedule(trace.schedule, trace.seed);
      expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    });
  }
});
