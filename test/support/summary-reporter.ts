import Mocha from 'mocha';

/**
 * Mocha's spec output, then the plain line `N passed, N failed` that CI reads. Counts come from the
 * runner's own stats; a failing hook counts as a failure, so a broken suite can never print "0 failed".
 */
class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats ?? { passes: 0, failures: 0 };
      process.stdout.write(`${stats.passes} passed, ${stats.failures} failed\n`);
    });
  }
}

export = SummaryReporter;
