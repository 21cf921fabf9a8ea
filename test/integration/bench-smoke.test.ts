import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(__dirname, '../../bench/compare/main.js');

interface SmokeReport {
  options: { systems: string[] };
  rows: { system: string; opsPerSec: number; failed: number }[];
  skipped: { system: string; reason: string }[];
  memory: { system: string; rssBytesPerEntry: number }[];
}

describe('bench:compare --smoke', function () {
  this.timeout(60_000);
  let outDir: string;
  let exitCode: number | null;
  let stderr = '';

  before(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
    const child = spawn(process.execPath, [MAIN, '--smoke', '--out', outDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    [exitCode] = (await once(child, 'exit')) as [number | null];
  });

  after(() => rmSync(outDir, { recursive: true, force: true }));

  it('exits 0', () => {
    expect(exitCode, stderr).to.equal(0);
  });

  it('writes compare.json with a row for every system it ran and a reason for every one it skipped', () => {
    const report = JSON.parse(readFileSync(path.join(outDir, 'compare.json'), 'utf8')) as SmokeReport;
    expect(report.options.systems).to.have.length(5);
    for (const system of report.options.systems) {
      const skipped = report.skipped.find((s) => s.system === system);
      if (skipped) {
        expect(skipped.reason).to.match(/apt-get install/);
        continue;
      }
      const row = report.rows.find((r) => r.system === system);
      expect(row, `row for ${system}`).to.not.equal(undefined);
      expect(row!.opsPerSec, `${system} ops/s`).to.be.greaterThan(0);
      expect(row!.failed, `${system} failed ops`).to.equal(0);
    }
  });

  it('writes the Markdown report and the SVG chart beside it', () => {
    expect(readFileSync(path.join(outDir, 'compare.md'), 'utf8')).to.match(
      /\| system \| in flight \| ops\/s/,
    );
    expect(readFileSync(path.join(outDir, 'compare.svg'), 'utf8')).to.match(/^<svg/);
  });
});
