import { execFileSync } from 'node:child_process';
import os from 'node:os';

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
