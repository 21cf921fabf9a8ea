import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { RingCacheError } from '../../../src/errors';
import { freePorts } from '../../../test/support/ports';
import { findCommand, spawnServer, type ServerProcess } from '../processes';
import type { RunningSystem, SystemDef } from './types';

const run = promisify(execFile);
const MASTERS = 3;
const INSTALL = 'install it with `apt-get install -y redis-server` (Debian/Ubuntu)';

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

/** Polls until `check` holds; redis gives no event for "serving" or "cluster_state:ok". */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new RingCacheError('UNAVAILABLE', `redis: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function infoField(info: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : NaN;
}

async function start(tmpDir: string): Promise<RunningSystem> {
  const dir = path.join(tmpDir, 'redis');
  mkdirSync(dir, { recursive: true });
  // Client ports and cluster-bus ports both free: the default bus port (port + 10000) may be taken
  // or past 65535 for an ephemeral port.
  const ports = await freePorts(MASTERS * 2);
  const clientPorts = ports.slice(0, MASTERS);
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    clientPorts.forEach((port, i) => {
      const args = [
        '--port',
        String(port),
        '--cluster-port',
        String(ports[MASTERS + i]),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ];
      servers.push(spawnServer('redis-server', args, dir));
    });
    for (const port of clientPorts)
      await waitFor(
        `redis-server on ${port} to answer PING`,
        async () => (await cli(port, 'ping')).includes('PONG'),
        10_000,
      );
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...clientPorts.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    for (const port of clientPorts)
      await waitFor(
        `cluster_state:ok on ${port}`,
        async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'),
        20_000,
      );
  } catch (err) {
    const tails = servers
      .map((s) => s.tail())
      .filter(Boolean)
      .join('\n');
    await stop();
    throw new RingCacheError('UNAVAILABLE', `redis cluster did not start: ${String(err)}\n${tails}`, {
      cause: err,
    });
  }
  return {
    spec: { kind: 'redis', nodes: clientPorts.map((port) => ({ host: '127.0.0.1', port })) },
    serverPids: () => servers.map((s) => s.pid),
    ownAccounting: async () => {
      const infos = await Promise.all(clientPorts.map((p) => cli(p, 'info', 'memory')));
      return {
        bytes: infos.reduce((a, info) => a + infoField(info, 'used_memory'), 0),
        source: 'INFO memory used_memory',
      };
    },
    stop,
  };
}

export const redisCluster: SystemDef = {
  id: 'redis',
  label: 'Redis Cluster (3 masters)',
  unavailable: () => {
    const missing = ['redis-server', 'redis-cli'].filter((c) => !findCommand(c));
    return missing.length ? `${missing.join(' and ')} not found; ${INSTALL}` : undefined;
  },
  start,
};
