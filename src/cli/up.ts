import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterConfig } from '../config/types';
import { RingCacheError } from '../errors';
import { makeCerts } from './certs';
import { CLUSTER_TOKEN_FILE_ENV, clusterTokenFromEnv } from '../transport/cluster-token';
import { ringSharePercents } from './ring-shares';
import { describeExit, LocalCluster } from './local-cluster';
import { formatTable } from './table';
import { UpEvents } from './up-events';

/**
 * `ringcache up`: every node as its own process, a table once all serve, what happens meanwhile
 * (UpEvents), a graceful stop on Ctrl-C/SIGTERM. `tlsDir`: over TLS with client certificates required
 * (mTLS everywhere), with the certificates in that directory, made there by `ringcache certs` on
 * first use. `verbose`: every log line of the nodes.
 */
export async function runUp(
  plain: ClusterConfig,
  opts: { tlsDir?: string; verbose?: boolean } = {},
): Promise<void> {
  const config = opts.tlsDir ? await withLocalTls(plain, opts.tlsDir) : plain;
  const events = new UpEvents({ verbose: opts.verbose });
  const cluster = new LocalCluster(config, {
    onLog: (id, line) => {
      const shown = events.describe(id, line);
      if (shown !== undefined) process.stderr.write(`${shown}\n`);
    },
    onCrash: (exit) => process.stderr.write(`ringcache up: ${describeExit(exit)}\n`),
  });
  // A secret made here is written where only this user can read it, for the admin commands.
  const tokenFile = clusterTokenFromEnv() ? undefined : writeSecret(config.name, cluster.clusterToken);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    events.stopping();
    process.stdout.write(`\n${signal}: stopping ${config.nodes.length} nodes...\n`);
    void cluster.stop().then((exits) => {
      for (const e of exits)
        process.stdout.write(`  ${e.id} ${e.code === 0 ? 'stopped' : describeExit(e)}\n`);
      removeSecret(tokenFile);
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
    removeSecret(tokenFile);
    throw err;
  }
  events.started();
  const shares = ringSharePercents(config, 1);
  const rows = config.nodes.map((n) => [
    n.id,
    n.address,
    n.http,
    shares.get(n.id) ?? '',
    String(cluster.pid(n.id) ?? ''),
  ]);
  // One write for the whole message: a script reading up's output (as the tests do) that finds the
  // "serving" line finds the secret's line with it.
  const lines: string[] = [];
  const { factor, writeQuorum, readQuorum } = config.replication;
  lines.push(
    `all ${config.nodes.length} nodes serving after ${Date.now() - started} ms (N=${factor}, W=${writeQuorum}, R=${readQuorum}). ` +
      `Try: npx ringcache set hello world${tlsFlags(config)} && npx ringcache get hello${tlsFlags(config)}. ` +
      `Ctrl-C stops the cluster.`,
  );
  if (config.tls) {
    lines.push(
      `TLS is on and every client needs a certificate: the SDK takes ` +
        `RingCache.connect({ seeds, tls: { ca, cert, key } }) with those files read (readFileSync).`,
    );
  }
  if (tokenFile) {
    lines.push(
      `The nodes hold a cluster secret made for this run; admin commands (flush, join, leave) need it:\n` +
        `  export ${CLUSTER_TOKEN_FILE_ENV}=${tokenFile}`,
    );
  }
  const table = formatTable(['node', 'gRPC address', 'http address', 'ring share', 'pid'], rows);
  process.stdout.write(`${table}${lines.join('\n')}\n`);
}

/** Removes the directory writeSecret made, when it made one. */
function removeSecret(file: string | undefined): void {
  if (file) rmSync(path.dirname(file), { recursive: true, force: true });
}

/** Writes `token` to a file in a new directory only this user can enter; returns the file's path. */
function writeSecret(clusterName: string, token: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ringcache-${clusterName.replace(/[^\w.-]/g, '_')}-`));
  const file = path.join(dir, 'cluster-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

/** The CLI flags that reach a cluster `up` started over TLS (its client certificate); '' without TLS. */
function tlsFlags(config: ClusterConfig): string {
  if (!config.tls) return '';
  const dir = path.dirname(config.tls.caFile);
  return ` --tls-ca ${config.tls.caFile} --tls-cert ${path.join(dir, 'client.pem')} --tls-key ${path.join(dir, 'client-key.pem')}`;
}

/**
 * The config over mTLS with the certificates in `dir`: those already there when they cover every
 * node, else a new local CA and certificates made there (the nodes' hosts among their names).
 */
async function withLocalTls(config: ClusterConfig, dir: string): Promise<ClusterConfig> {
  const abs = path.resolve(dir);
  const cert = (id: string) => path.join(abs, `${id}.pem`);
  const key = (id: string) => path.join(abs, `${id}-key.pem`);
  const wanted = [path.join(abs, 'ca.pem'), path.join(abs, 'client.pem'), path.join(abs, 'client-key.pem')];
  wanted.push(...config.nodes.flatMap((n) => [cert(n.id), key(n.id)]));
  const missing = wanted.filter((f) => !existsSync(f));
  if (missing.length === wanted.length) {
    const hosts = [...new Set(config.nodes.map((n) => n.host))].filter(
      (h) => h !== '127.0.0.1' && h !== 'localhost',
    );
    process.stdout.write(`making a local CA and certificates in ${abs} (ringcache certs)...\n`);
    await makeCerts({ out: abs, nodes: config.nodes.map((n) => n.id), hosts, days: 825, force: false });
  } else if (missing.length > 0) {
    throw new RingCacheError(
      'CONFIG_INVALID',
      `${abs} holds certificates, but not ${missing.map((f) => path.basename(f)).join(', ')}: ` +
        `make a full set with ringcache certs --out ${dir} --nodes ${config.nodes.map((n) => n.id).join(',')} --force`,
    );
  }
  return {
    ...config,
    tls: {
      caFile: path.join(abs, 'ca.pem'),
      certFile: cert('{id}'),
      keyFile: key('{id}'),
      clientAuth: 'require',
    },
  };
}
