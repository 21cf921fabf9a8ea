import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis?: string;
  memcached?: string;
}

function versionOf(command: string, arg: string): string | undefined {
  try {
    return execFileSync(command, [arg], { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

/** What the figures were measured on: they mean little without it. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const info: MachineInfo = {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
  const redis = versionOf('redis-server', '--version');
  const memcached = versionOf('memcached', '-V');
  if (redis) info.redis = redis;
  if (memcached) info.memcached = memcached;
  return info;
}

/** The package root (dist/bench/compare -> ../../..): the checkout whose code is measured. */
const ROOT = path.resolve(__dirname, '../../..');

/**
 * The commit whose code was measured, abbreviated, with "-dirty" when src/ or bench/ differ from it
 * (the figures are then of code no commit holds); "unknown" outside a git checkout.
 */
export function sourceCommit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD');
    const changed = git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench');
    return changed ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}
