import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** `npm run sim` with `args`: its exit code and output. */
function sim(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'main.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run sim: its flags', function () {
  this.timeout(60_000);

  it('prints its usage and the scenarios for --help, and runs nothing', () => {
    const r = sim('--help');
    expect(r.code).to.equal(0);
    expect(r.out)
      .to.match(/^npm run sim -- \[--scenario NAME\]/)
      .and.include('nemesis-mix');
    expect(r.out).to.not.include('runs of');
  });

  it('refuses a flag it does not know, a count that is no whole number and an unknown scenario (exit 2)', () => {
    for (const [args, message] of [
      [['--seed', '5'], /Unknown option '--seed'/],
      [['--seeds', 'abc'], /--seeds abc is not a whole number/],
      [['--seeds', '0'], /--seeds 0 is not a whole number of 1 or more/],
      [['--seed-start', '1.5'], /--seed-start 1.5 is not a whole number/],
      [['--scenario', 'nope'], /--scenario nope is unknown/],
    ] as const) {
      const r = sim(...args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.err, args.join(' ')).to.match(message).and.include('npm run sim --');
      expect(r.out, args.join(' ')).to.equal('');
    }
  });

  it('runs the seeds asked for', () => {
    const r = sim('--scenario', 'happy', '--seeds', '2', '--seed-start', '7');
    expect(r.code).to.equal(0);
    expect(r.out).to.include('happy: 2 runs of 2 seeds from 7, 0 failing');
  });
});
