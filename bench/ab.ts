/**
 * `npm run bench:ab -- <commit-a> <commit-b>`: is B faster or slower than A, through this machine's
 * noise? Builds both commits in temporary git worktrees and runs each one's own `bench:compare`
 * (fresh processes every run) in the order A B B A A B ... for --pairs pairs, so slow drift (heat,
 * other load) falls on both alike. Redis Cluster runs in every run as a yardstick (when
 * redis-server is installed), so a run on a busy moment shows as such in both numbers.
 *
 * Prints, for each system and concurrency, every run's ops/s, the medians, the ratio of medians B/A
 * and each side's spread (max-min over the median), and the same for ops/s relative to Redis.
 * Writes bench/results/ab.{md,json}.
 *
 * Flags: --pairs 5 --systems ringcache-n3,redis --seconds 10 --warmup 2 --concurrency 256
 *        --keys 100000. A commit whose package-lock.json differs from this tree's gets its own
 *        `npm ci` (minutes); otherwise it shares this tree's node_modules.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flag } from './flags';

const ROOT = path.resolve(__dirname, '../..');
const pairs = Number(flag('pairs', '5'));
const systems = flag('systems', 'ringcache-n3,redis');
const seconds = flag('seconds', '10');
const warmup = flag('warmup', '2');
const concurrency = flag('concurrency', '256');
const keys = flag('keys', '100000');

interface Side {
  name: 'A' | 'B';
  commit: string;
  dir: string;
}

interface RunRow {
  side: 'A' | 'B';
  run: number;
  system: string;
  concurrency: number;
  opsPerSec: number;
  /** ops/s over Redis Cluster's in the same run; undefined without Redis. */
  toRedis: number | undefined;
}

const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

function say(text: string): void {
  process.stderr.write(`[bench:ab ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** A worktree of `commit` with node_modules and a build. */
function prepare(name: 'A' | 'B', ref: string, tmp: string): Side {
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = path.join(tmp, name);
  git('worktree', 'add', '--detach', dir, commit);
  const sameLock =
    readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8') ===
    readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
  if (sameLock) symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  else {
    say(`${name} ${commit.slice(0, 8)}: its package-lock.json differs, npm ci (this takes minutes)`);
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  say(`${name} ${commit.slice(0, 8)}: building`);
  execFileSync(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (!existsSync(path.join(dir, 'dist/bench/compare/main.js')))
    throw new Error(`${ref} has no bench/compare: bench:ab compares commits that have it`);
  return { name, commit, dir };
}

/** One run of the side's own bench:compare; its rows. */
async function runOnce(side: Side, run: number, outDir: string): Promise<RunRow[]> {
  mkdirSync(outDir, { recursive: true });
  const args = [
    path.join(side.dir, 'dist/bench/compare/main.js'),
    '--systems',
    systems,
    '--repeats',
    '1',
    '--memory-keys',
    '0',
    '--profile-seconds',
    '0',
    '--seconds',
    seconds,
    '--warmup',
    warmup,
    '--concurrency',
    concurrency,
    '--keys',
    keys,
    '--out',
    outDir,
  ];
  const child = spawn(process.execPath, args, { cwd: side.dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`${side.name} run ${run}: bench:compare exited with code ${code}`);
  const report = JSON.parse(readFileSync(path.join(outDir, 'compare.json'), 'utf8')) as {
    rows: { system: string; concurrency: number; opsPerSec: number; ratioToRedis?: { opsPerSec: number } }[];
  };
  return report.rows.map((r) => ({
    side: side.name,
    run,
    system: r.system,
    concurrency: r.concurrency,
    opsPerSec: r.opsPerSec,
    toRedis: r.ratioToRedis?.opsPerSec,
  }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** (max - min) / median, as a percentage: how far apart one side's runs fell. */
function spread(xs: number[]): string {
  return `${(((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100).toFixed(0)}%`;
}

function table(rows: RunRow[], a: Side, b: Side): string {
  const lines = [
    `A = ${a.commit.slice(0, 10)}, B = ${b.commit.slice(0, 10)}; ${pairs} pairs, order A B B A ...; ` +
      `${seconds} s per run after ${warmup} s warm-up, ${keys} keys`,
    '',
    '| system | in flight | A ops/s (runs) | B ops/s (runs) | median A | median B | B/A | spread A | spread B | A/Redis | B/Redis | B/A vs Redis |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const keysOf = [...new Set(rows.map((r) => `${r.system}|${r.concurrency}`))];
  for (const k of keysOf) {
    const [system, c] = k.split('|');
    const of = (s: 'A' | 'B') => rows.filter((r) => r.side === s && `${r.system}|${r.concurrency}` === k);
    const opsA = of('A').map((r) => r.opsPerSec);
    const opsB = of('B').map((r) => r.opsPerSec);
    if (!opsA.length || !opsB.length) continue;
    const redisA = of('A').flatMap((r) => (r.toRedis === undefined ? [] : [r.toRedis]));
    const redisB = of('B').flatMap((r) => (r.toRedis === undefined ? [] : [r.toRedis]));
    const k0 = (x: number) => `${(x / 1000).toFixed(1)}k`;
    const vsRedis = redisA.length && redisB.length;
    lines.push(
      `| ${system} | ${c} | ${opsA.map(k0).join(', ')} | ${opsB.map(k0).join(', ')} | ${k0(median(opsA))} | ${k0(median(opsB))} | ` +
        `${(median(opsB) / median(opsA)).toFixed(3)} | ${spread(opsA)} | ${spread(opsB)} | ` +
        `${vsRedis ? median(redisA).toFixed(2) : '-'} | ${vsRedis ? median(redisB).toFixed(2) : '-'} | ` +
        `${vsRedis ? (median(redisB) / median(redisA)).toFixed(3) : '-'} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const [refA, refB] = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (!refA || !refB) throw new Error('usage: npm run bench:ab -- <commit-a> <commit-b> [--pairs 5] [flags]');
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`--pairs is ${pairs}; expected a whole number >= 1`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ringcache-ab-'));
  const sides: Side[] = [];
  const stop = () => {
    for (const s of sides) {
      try {
        git('worktree', 'remove', '--force', s.dir);
      } catch {
        // already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    sides.push(prepare('A', refA, tmp), prepare('B', refB, tmp));
    const [a, b] = sides as [Side, Side];
    const rows: RunRow[] = [];
    for (let i = 0; i < pairs; i++) {
      for (const side of i % 2 === 0 ? [a, b] : [b, a]) {
        say(`pair ${i + 1}/${pairs}: ${side.name} (${side.commit.slice(0, 8)})`);
        const got = await runOnce(side, i, path.join(tmp, `out-${side.name}-${i}`));
        rows.push(...got);
        say(got.map((r) => `${r.system}@${r.concurrency} ${Math.round(r.opsPerSec)} ops/s`).join(', '));
      }
    }
    const text = table(rows, a, b);
    console.log(`\n${text}\n`);
    const out = path.join(ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'ab.md'), `${text}\n`);
    writeFileSync(
      path.join(out, 'ab.json'),
      JSON.stringify({ date: new Date().toISOString(), a: a.commit, b: b.commit, pairs, rows }, null, 2),
    );
  } finally {
    stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
