/**
 * `npm run bench:compare`: ringcache against Redis Cluster and memcached on this machine, each driven
 * by one client process with its usual Node client, same workload, same closed loop. Writes
 * compare.{md,json,svg} to bench/results (or --out DIR). Flags: see options.ts; `--smoke` for CI.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { profileSdk, type ProfileSummary } from '../cpu-profile';
import { renderChart } from './chart';
import { machineInfo, sourceCommit } from './machine';
import { measureMemory, type MemorySample } from './memory-phase';
import { SYSTEM_IDS, USAGE, parseOptions, type CompareOptions, type SystemId } from './options';
import { own, stopAll } from './processes';
import { Progress, formatSeconds } from './progress';
import { markdown, type CompareReport, type Skipped } from './report';
import { SYSTEMS } from './systems/catalogue';
import type { RunningSystem, SystemDef } from './systems/types';
import type { WorkerHandle } from './worker-handle';
import { summarize, summarizeMemory } from './summary';
import { runRepeat, type PointSample } from './throughput-phase';

/** Systems in a different order each repeat, so slow drift (thermal, page cache) hits all alike. */
function rotated<T>(items: T[], by: number): T[] {
  const k = items.length ? by % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}

function available(opts: CompareOptions, progress: Progress): { run: SystemDef[]; skipped: Skipped[] } {
  const run: SystemDef[] = [];
  const skipped: Skipped[] = [];
  for (const id of opts.systems) {
    const def = SYSTEMS[id];
    const reason = def.unavailable();
    if (reason === undefined) run.push(def);
    else {
      skipped.push({ system: id, label: def.label, reason });
      progress.say(`skipping ${def.label}: ${reason}`);
    }
  }
  return { run, skipped };
}

async function measureAll(opts: CompareOptions, run: SystemDef[], tmpDir: string, progress: Progress) {
  const samples: PointSample[] = [];
  const schedule = { pointsLeft: run.length * opts.repeats * opts.concurrencies.length };
  progress.say(
    `${run.map((d) => d.id).join(', ')}: ${schedule.pointsLeft} points of ` +
      `${opts.warmupSeconds + opts.seconds} s (~${formatSeconds(schedule.pointsLeft * (opts.warmupSeconds + opts.seconds))} of load, plus start-up and preloading)`,
  );
  const memory: MemorySample[] = [];
  for (let repeat = 0; repeat < opts.repeats; repeat++) {
    for (const def of rotated(run, repeat)) {
      // raw is the same server as ringcache N=1 on one node: no memory row of its own.
      const withMemory = repeat === opts.repeats - 1 && opts.memoryKeys > 0 && def.id !== 'raw';
      const after = withMemory
        ? async (system: RunningSystem, worker: WorkerHandle) => {
            memory.push(await measureMemory(def, system, worker, opts, progress));
          }
        : undefined;
      samples.push(...(await runRepeat(def, opts, repeat, tmpDir, progress, schedule, after)));
    }
  }
  return { samples, memory };
}

/** The profiling pass: ringcache N=1 at the first concurrency, when it was measured at all. */
async function profileRingcache(
  opts: CompareOptions,
  run: SystemDef[],
  progress: Progress,
): Promise<ProfileSummary | undefined> {
  if (opts.profileSeconds <= 0 || !run.some((d) => d.id === 'ringcache-n1')) return undefined;
  const concurrency = opts.concurrencies[0]!;
  const phase = `[profile] ringcache N=1 concurrency ${concurrency}`;
  progress.update(phase, 'starting');
  return profileSdk({
    seconds: opts.profileSeconds,
    concurrency,
    keys: opts.keys,
    factor: 1,
    top: 10,
    onProgress: (status) => progress.update(phase, status),
    onCluster: (cluster, pids) => own({ stop: () => cluster.stop().then(() => undefined), pids }),
  });
}

async function main(): Promise<void> {
  let opts: CompareOptions | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    // A flag it refused: the message says which, and a stack would only hide it.
    process.stderr.write(`bench:compare: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (!opts) {
    process.stdout.write(USAGE);
    return;
  }
  const progress = new Progress();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-compare-'));
  // Also on Ctrl-C, which ends the process from the signal handler without unwinding main.
  process.once('exit', () => rmSync(tmpDir, { recursive: true, force: true }));
  try {
    const { run, skipped } = available(opts, progress);
    const { samples, memory } = await measureAll(opts, run, tmpDir, progress);
    const profile = await profileRingcache(opts, run, progress);
    progress.done();
    const labels = Object.fromEntries(SYSTEM_IDS.map((id) => [id, SYSTEMS[id].label])) as Record<
      SystemId,
      string
    >;
    const { outDir: _outDir, ...shownOptions } = opts;
    const report: CompareReport = {
      date: new Date().toISOString(),
      commit: sourceCommit(),
      command: `node dist/bench/compare/main.js ${process.argv.slice(2).join(' ')}`.trim(),
      machine: machineInfo(),
      options: shownOptions,
      skipped,
      rows: summarize(samples, opts.systems, labels),
      memory: summarizeMemory(memory, opts.systems, labels),
      profile,
    };
    const md = markdown(report);
    mkdirSync(opts.outDir, { recursive: true });
    writeFileSync(
      path.join(opts.outDir, 'compare.json'),
      `${JSON.stringify({ ...report, samples }, null, 2)}\n`,
    );
    writeFileSync(path.join(opts.outDir, 'compare.md'), md);
    writeFileSync(path.join(opts.outDir, 'compare.svg'), await renderChart(report));
    process.stdout.write(`${md}\nwrote compare.{md,json,svg} to ${opts.outDir}\n`);
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(
    `\nbench:compare failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  await stopAll();
  process.exit(1);
});
