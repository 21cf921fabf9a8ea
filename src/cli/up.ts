import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterConfig } from '../config/types';
import { CLUSTER_TOKEN_FILE_ENV, clusterTokenFromEnv } from '../transport/cluster-token';
import { ringSharePercents } from './ring-shares';
import { describeExit, LocalCluster } from './local-cluster';
import { formatTable } from './table';

/** Log lines from nodes worth showing a person running `up`: warnings, errors and membership changes. */
function isNoteworthy(line: string): boolean {
  return /"level":(40|50|60)/.test(line) || line.includes('"msg":"member state changed"');
}

function describeLine(id: string, line: string): string {
  try {
    const rec = JSON.parse(line) as {
      msg?: string;
      member?: string;
      from?: string;
      to?: string;
      err?: unknown;
    };
    const extra =
      rec.member && rec.to
        ? ` ${rec.member}: ${rec.from} -> ${rec.to}`
        : rec.err
          ? ` (${JSON.stringify(rec.err)})`
          : '';
    return `[${id}] ${rec.msg ?? line}${extra}`;
  } catch {
    return `[${id}] ${line}`;
  }
}

/** `ringcache up`: every node as its own process, a table once all serve, a graceful stop on Ctrl-C/SIGTERM. */
export async function runUp(config: ClusterConfig): Promise<void> {
  const cluster = new LocalCluster(config, {
    onLog: (id, line) => {
      if (isNoteworthy(line)) process.stderr.write(`${describeLine(id, line)}\n`);
    },
    onCrash: (exit) => process.stderr.write(`ringcache up: ${describeExit(exit)}\n`),
  });
  // A secret made here is written where only this user can read it, for the admin commands.
  const tokenFile = clusterTokenFromEnv() ? undefined : writeSecret(config.name, cluster.clusterToken);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping ${config.nodes.length} nodes...\n`);
    void cluster.stop().then((exits) => {
      for (const e of exits)
        process.stdout.write(`  ${e.id} ${e.code === 0 ? 'stopped' : describeExit(e)}\n`);
      if (tokenFile) rmSync(path.dirname(tokenFile), { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  process.stdout.write(
    `starting ${config.nodes.length} nodes of cluster '${config.name}' (${config.source})...\n`,
  );
  const started = Date.now();
  try {
    await cluster.start();
  } catch (err) {
    if (tokenFile) rmSync(path.dirname(tokenFile), { recursive: true, force: true });
    throw err;
  }
  const shares = ringSharePercents(config, 1);
  const rows = config.nodes.map((n) => [
    n.id,
    n.address,
    n.http,
    shares.get(n.id) ?? '',
    String(cluster.pid(n.id) ?? ''),
  ]);
  process.stdout.write(formatTable(['node', 'gRPC address', 'http address', 'ring share', 'pid'], rows));
  const { factor, writeQuorum, readQuorum } = config.replication;
  process.stdout.write(
    `all ${config.nodes.length} nodes serving after ${Date.now() - started} ms (N=${factor}, W=${writeQuorum}, R=${readQuorum}). ` +
      `Try: npx ringcache set hello world && npx ringcache get hello. Ctrl-C stops the cluster.\n`,
  );
  if (tokenFile) {
    process.stdout.write(
      `The nodes hold a cluster secret made for this run; admin commands (flush, join, leave) need it:\n` +
        `  export ${CLUSTER_TOKEN_FILE_ENV}=${tokenFile}\n`,
    );
  }
}

/** Writes `token` to a file in a new directory only this user can enter; returns the file's path. */
function writeSecret(clusterName: string, token: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ringcache-${clusterName.replace(/[^\w.-]/g, '_')}-`));
  const file = path.join(dir, 'cluster-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}
