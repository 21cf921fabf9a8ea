import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { scriptHelp } from '../../../bench/flags';

describe('bench scripts: --help', () => {
  it("reads a script's opening comment as plain text", () => {
    const source =
      '"use strict";\n/**\n * `npm run bench:x`: what it does.\n * Flags: --keys N (10)\n */\nconst a = 1; /** later */';
    expect(scriptHelp(source)).to.equal('`npm run bench:x`: what it does.\nFlags: --keys N (10)\n');
    expect(scriptHelp('const a = 1;')).to.equal('No help for this script.\n');
  });

  it('prints the help of bench:idle and exits, starting nothing', () => {
    const script = path.resolve(__dirname, '../../../bench/idle.js');
    const run = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).to.equal(0);
    expect(run.stdout).to.match(/^`npm run bench:idle`: what a cluster with no client costs/);
    expect(run.stdout).to.include('--probe-interval-ms');
    expect(run.stderr).to.equal('');
  });
});
