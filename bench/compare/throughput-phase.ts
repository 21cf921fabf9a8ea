import { processCpuSeconds } from '../proc-cpu';
import type { CompareOptions, SystemId } from './options';
import { formatSeconds, type Progress } from './progress';
import type { RunningSystem, SystemDef } from './systems/types';
import { WorkerHandle } from './worker-handle';
import type { PointResult } from './worker-protocol';

/** One measured (system, concurrency, repeat) point. */
export interface PointSample extends PointResult {
  system: SystemId;
  concurrency: number;
  repeat: number;
  /** CPU seconds of the client process and of all server processes during the measured window. */
  clientCpuS: number;
  serverCpuS: number;
}

/** Counts down the points left, for the progress line's time estimate. */
export interface Schedule {
  pointsLeft: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function cpuOf(pids: number[]): number {
  return pids.reduce((a, p) => a + processCpuSeconds(p), 0);
}

/** Sleeps `seconds`, redrawing the progress line twice a second. */
async function countdown(seconds: number, tick: (leftS: number) => void): Promise<void> {
  const end = Date.now() + seconds * 1000;
  for (let left = seconds * 1000; left > 0; left = end - Date.now()) {
    tick(left / 1000);
    await sleep(Math.min(500, left));
  }
}

/**
 * Starts the system fresh, preloads the keys with its client worker, then measures each concurrency
 * once. A fresh start per repeat keeps one run's leftovers (heap, fragmentation) out of the next.
 */
export async function runRepeat(
  def: SystemDef,
  opts: CompareOptions,
  repeat: number,
  tmpDir: string,
  progress: Progress,
  schedule: Schedule,
  /** Runs on the same servers and client after the points (the memory phase of the last repeat). */
  after?: (system: RunningSystem, worker: WorkerHandle) => Promise<void>,
): Promise<PointSample[]> {
  const tag = `[${def.id} repeat ${repeat + 1}/${opts.repeats}]`;
  const pointS = opts.warmupSeconds + opts.seconds;
  const left = (extraS: number) =>
    `~${formatSeconds(extraS + (schedule.pointsLeft - 1) * pointS)} of load left`;
  progress.update(`${tag} starting servers`);
  const system = await def.start(tmpDir);
  let worker: WorkerHandle | undefined;
  try {
    worker = await WorkerHandle.open(system.spec);
    worker.onProgress = (done) => progress.update(`${tag} preloading`, `${done}/${opts.keys} keys`);
    progress.update(`${tag} preloading`, `0/${opts.keys} keys`);
    const filled = await worker.fill({ style: 'load', count: opts.keys, inFlight: 256 });
    if (filled.failed > 0) progress.say(`${tag} ${filled.failed} preload sets failed: ${filled.firstError}`);
    const samples: PointSample[] = [];
    for (const concurrency of opts.concurrencies) {
      const point = `${tag} concurrency ${concurrency}`;
      await worker.run(concurrency, opts.keys, 1000 * repeat + concurrency);
      await countdown(opts.warmupSeconds, (s) =>
        progress.update(`${point} warming up`, left(s + opts.seconds)),
      );
      const serverPids = system.serverPids();
      const clientCpu0 = processCpuSeconds(worker.pid);
      const serverCpu0 = cpuOf(serverPids);
      worker.measure();
      await countdown(opts.seconds, (s) => progress.update(`${point} measuring`, left(s)));
      const clientCpuS = processCpuSeconds(worker.pid) - clientCpu0;
      const serverCpuS = cpuOf(serverPids) - serverCpu0;
      const result = await worker.stop();
      schedule.pointsLeft--;
      samples.push({ ...result, system: def.id, concurrency, repeat, clientCpuS, serverCpuS });
    }
    await after?.(system, worker);
    return samples;
  } finally {
    await worker?.close();
    await system.stop();
  }
}
