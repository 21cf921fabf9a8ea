import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_IDS, type SystemId } from '../../bench/compare/options';
import { skipBecause } from '../support/skip-reasons';

const MAIN = path.resolve(__dirname, '../../bench/compare/main.js');
/** Systems bench:compare runs only when their servers are installed; it skips them, saying how, when not. */
const EXTERNAL = new Set<SystemId>(['redis', 'memcached']);

interface SmokeReport {
  commit: string;
  options: { systems: string[] };
  rows: { system: string; opsPerSec: number; failed: number }[];
  skipped: { system: string; reason: string }[];
  memory: { system: string; rssBytesPerEntry: number }[];
  profile?: {
    opsPerSec: number;
    client: { rows: [string, number][] };
    nodesSummed: { rows: [string, number][] };
  };
}

describe('bench:compare --smoke', function () {
  // The smoke run takes ~30 s alone at load 6-10 on 2 cores; beside other suites (npm test runs
  // cluster files side by side) it took over 60 s.
  this.timeout(180_000);
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

  const report = () => JSON.parse(readFileSync(path.join(outDir, 'compare.json'), 'utf8')) as SmokeReport;

  it('exits 0', () => {
    expect(exitCode, stderr).to.equal(0);
  });

  it('writes compare.json naming every system', () => {
    expect(report().options.systems).to.deep.equal([...SYSTEM_IDS]);
  });

  it('names the commit it measured, in compare.json and compare.md', () => {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(report().commit).to.match(new RegExp(`^${head}(-dirty)?$`));
    const md = readFileSync(path.join(outDir, 'compare.md'), 'utf8');
    expect(md).to.include(`commit ${report().commit}, `);
  });

  for (const system of SYSTEM_IDS) {
    it(`measures ${system} with no failed operation`, function () {
      const skipped = report().skipped.find((s) => s.system === system);
      if (skipped && EXTERNAL.has(system)) {
        expect(skipped.reason).to.match(/apt-get install/);
        // .ci/run installs these servers: a skip there means its install failed.
        skipBecause(this, `bench:compare skipped ${system}: ${skipped.reason}`, { required: true });
      }
      expect(skipped, `${system} skipped`).to.equal(undefined);
      const row = report().rows.find((r) => r.system === system);
      expect(row, `row for ${system}`).to.not.equal(undefined);
      expect(row!.opsPerSec, `${system} ops/s`).to.be.greaterThan(0);
      expect(row!.failed, `${system} failed ops`).to.equal(0);
    });
  }

  it('profiles ringcache N=1 and summarises where its CPU goes', () => {
    const { profile } = report();
    expect(profile, 'profile section').to.not.equal(undefined);
    expect(profile!.opsPerSec).to.be.greaterThan(0);
    expect(profile!.client.rows.length).to.be.greaterThan(0);
    expect(profile!.nodesSummed.rows.length).to.be.greaterThan(0);
    const shares = profile!.client.rows.map(([, share]) => share);
    expect(shares.every((s) => s > 0 && s <= 1)).to.equal(true);
  });

  it('writes the Markdown report and the SVG chart beside it', () => {
    const md = readFileSync(path.join(outDir, 'compare.md'), 'utf8');
    expect(md).to.match(/\| system \| in flight \| ops\/s/);
    expect(md).to.match(/## Where the CPU goes \(ringcache N=1\)/);
    expect(readFileSync(path.join(outDir, 'compare.svg'), 'utf8')).to.match(/^<svg/);
  });
});
