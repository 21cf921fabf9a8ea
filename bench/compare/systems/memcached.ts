import net from 'node:net';
import { RingCacheError } from '../../../src/errors';
import { freePorts } from '../../../test/support/ports';
import { findCommand, spawnServer, type ServerProcess } from '../processes';
import type { RunningSystem, SystemDef } from './types';

const SERVERS = 3;

/** One text-protocol command; resolves with everything up to the closing END. */
function command(port: number, line: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`memcached on ${port}: no answer to ${line}`)),
    );
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.endsWith('END\r\n')) {
        socket.end();
        resolve(text);
      }
    });
    socket.once('error', reject);
  });
}

function stat(text: string, name: string): number {
  const m = new RegExp(`^STAT ${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function waitServing(port: number, server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await command(port, 'version\r\nstats', 1000);
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new RingCacheError(
          'UNAVAILABLE',
          `memcached on ${port} did not answer: ${String(err)}\n${server.tail()}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function start(tmpDir: string): Promise<RunningSystem> {
  const ports = await freePorts(SERVERS);
  // memcached refuses to run as root unless told which user to be.
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const servers = ports.map((port) =>
    spawnServer(
      'memcached',
      ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-m', '1024', ...asRoot],
      tmpDir,
    ),
  );
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    await Promise.all(ports.map((port, i) => waitServing(port, servers[i]!)));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    spec: { kind: 'memcached', servers: ports.map((p) => `127.0.0.1:${p}`) },
    serverPids: () => servers.map((s) => s.pid),
    ownAccounting: async () => {
      const all = await Promise.all(ports.map((p) => command(p, 'stats')));
      return { bytes: all.reduce((a, t) => a + stat(t, 'bytes'), 0), source: 'stats bytes' };
    },
    stop,
  };
}

export const memcached: SystemDef = {
  id: 'memcached',
  label: 'memcached (3 servers)',
  unavailable: () =>
    findCommand('memcached')
      ? undefined
      : 'memcached not found; install it with `apt-get install -y memcached` (Debian/Ubuntu)',
  start,
};
