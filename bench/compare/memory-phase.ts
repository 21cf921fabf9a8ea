import type { CompareOptions, SystemId } from './options';
import { rssBytes } from './proc-memory';
import type { Progress } from './progress';
import type { RunningSystem, SystemDef } from './systems/types';
import type { WorkerHandle } from './worker-handle';

export interface MemorySample {
  system: SystemId;
  keys: number;
  /** Sum over server processes of VmRSS after loading minus before, divided by keys. */
  rssBytesPerEntry: number;
  /** The same from the servers' own accounting, where they keep one. */
  ownBytesPerEntry?: number;
  ownSource?: string;
  failed: number;
}

function rssSum(pids: number[]): number {
  return pids.reduce((a, p) => a + rssBytes(p), 0);
}

/**
 * Loads `memoryKeys` 11-byte keys with 100-byte values (names unlike the throughput keys) into a
 * running system; memory per entry is the growth of its servers' resident memory, and of their own
 * byte count, over the load. It runs on the servers of the last throughput repeat, after its points,
 * so it costs no start-up of its own: the figure is the marginal cost of an entry. Replicated systems
 * pay for every copy: ringcache N=3 holds each entry three times.
 */
export async function measureMemory(
  def: SystemDef,
  system: RunningSystem,
  worker: WorkerHandle,
  opts: CompareOptions,
  progress: Progress,
): Promise<MemorySample> {
  const tag = `[${def.id} memory]`;
  const pids = system.serverPids();
  const rss0 = rssSum(pids);
  const own0 = await system.ownAccounting();
  worker.onProgress = (done) => progress.update(`${tag} loading`, `${done}/${opts.memoryKeys} keys`);
  progress.update(`${tag} loading`, `0/${opts.memoryKeys} keys`);
  const filled = await worker.fill({ style: 'memory', count: opts.memoryKeys, inFlight: 256 });
  const rss1 = rssSum(pids);
  const own1 = await system.ownAccounting();
  const sample: MemorySample = {
    system: def.id,
    keys: opts.memoryKeys,
    rssBytesPerEntry: (rss1 - rss0) / opts.memoryKeys,
    failed: filled.failed,
  };
  if (own0 && own1) {
    sample.ownBytesPerEntry = (own1.bytes - own0.bytes) / opts.memoryKeys;
    sample.ownSource = own1.source;
  }
  if (filled.failed > 0) progress.say(`${tag} ${filled.failed} sets failed: ${filled.firstError}`);
  return sample;
}
