import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI_PATH } from '../../src/cli/local-cluster';
import { freePorts } from './ports';

/** This process's environment without a cluster secret, plus `env`: a CLI that knows no secret. */
export function envWithoutSecret(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = { ...process.env };
  delete clean.RINGCACHE_CLUSTER_TOKEN;
  delete clean.RINGCACHE_CLUSTER_TOKEN_FILE;
  return { ...clean, ...env };
}

/** `ringcache <args>` with no secret in its environment but `env`'s; its exit code and all it printed. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const child = startCli(args, env);
  const [code] = (await once(child.process, 'close')) as [number | null];
  return { code, output: child.output() };
}

/** `ringcache <args>` started (no secret in its environment but `env`'s); what it printed so far. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): { process: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: envWithoutSecret(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  return { process: child, output: () => output };
}

/** A cluster.yml for two nodes (N=2, W=2) on free ports, written to `dir`; its path and n1's port. */
export async function twoNodeConfigFile(dir: string, name: string): Promise<{ file: string; port: number }> {
  const [p1, h1, p2, h2] = await freePorts(4);
  const file = path.join(dir, 'cluster.yml');
  writeFileSync(
    file,
    [
      'cluster:',
      `  name: ${name}`,
      '  replication: { factor: 2, write_quorum: 2, read_quorum: 1 }',
      'nodes:',
      `  - { id: n1, address: 127.0.0.1:${p1}, http: 127.0.0.1:${h1} }`,
      `  - { id: n2, address: 127.0.0.1:${p2}, http: 127.0.0.1:${h2} }`,
      '',
    ].join('\n'),
  );
  return { file, port: p1! };
}
