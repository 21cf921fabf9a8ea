#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT, exitCodeOf } from './exit-codes';
import { parseDuration } from './duration';
import { waitForLeave } from './leave';
import { loadConfig } from '../config/load';
import { generateLocalConfig } from '../config/generate';
import type { ClusterConfig } from '../config/types';
import { isRingCacheError, RingCacheError } from '../errors';
import { UnaryClient } from './unary-client';
import { userTokenFromEnv } from '../transport/user-token';
import { Code } from '../proto/messages';
import { createRootLogger } from '../observability/logger';
import { ringSharePercents } from './ring-shares';
import type * as NodeModule from '../server/node';
import type * as UpModule from './up';
import type * as CertsModule from './certs';
import type * as StatusModule from './status';
import { addDataCommands } from './commands-data';
import { CONFIG_ENV, READY_LINE } from './local-cluster';
import { formatTable } from './table';
import { clusterTokenFromEnv } from '../transport/cluster-token';
import { addTlsOptions, tlsOf } from './tls-flags';
import { errorFromWire } from '../proto/status-codes';
import { ADDR_ENV, clusterAddresses } from './addresses';
import { admit, nodeConfigOf, seedsOf } from './join';

/**
 * What only some commands use, loaded by the command that does: the node's server (with every
 * service and the store), `up`, `certs` and `status`. Loaded at start, they took a third of each
 * command's 0.5 s of CPU before it did anything (`get`, `set`, `ring`, `--version`).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  node: () => require('../server/node') as typeof NodeModule,
  up: () => require('./up') as typeof UpModule,
  certs: () => require('./certs') as typeof CertsModule,
  status: () => require('./status') as typeof StatusModule,
};
/* eslint-enable @typescript-eslint/no-require-imports */

// grpc-js gives TLS the host it dials as the server name, an IP address for most nodes, and Node
// deprecates that (DEP0123) with a warning on every CLI command and node over TLS that nobody can act
// on: the certificate is still checked against the address. That one warning is not printed.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = (warning: unknown, ...rest: unknown[]) => {
  const options = rest[0] as { code?: unknown } | string | null | undefined;
  const code = typeof options === 'object' ? options?.code : rest[1];
  if (code !== 'DEP0123') emitWarning(warning, ...rest);
};

function configFrom(opts: { config?: string; nodes?: string; basePort?: string }): ClusterConfig {
  if (opts.nodes !== undefined) {
    const n = Number(opts.nodes);
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new RingCacheError(
        'CONFIG_INVALID',
        `--nodes: expected a whole number from 1 to 64, got "${opts.nodes}"`,
      );
    const basePort = Number(opts.basePort ?? '7401');
    if (!Number.isInteger(basePort) || basePort < 1 || basePort + n + 2000 > 65535)
      throw new RingCacheError(
        'CONFIG_INVALID',
        `--base-port: expected a port such that it and 2000 above it leave room for ${n} nodes, got "${opts.basePort}"`,
      );
    return generateLocalConfig({ nodes: n, basePort, baseHttpPort: basePort + 2000 });
  }
  return loadConfig(opts.config ?? 'cluster.yml');
}

/**
 * Prints an error as one line a person can act on and sets the exit code (exit-codes.ts); the stack
 * of an unexpected one only with --debug.
 */
function fail(err: unknown): void {
  const message = isRingCacheError(err) || err instanceof Error ? err.message : String(err);
  const debug = process.argv.includes('--debug');
  const bug = !isRingCacheError(err) && err instanceof Error;
  process.stderr.write(`ringcache: ${message}${bug && !debug ? ' (--debug prints where)' : ''}\n`);
  if (bug && debug && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = exitCodeOf(err);
}

/** --addr, else --config's first node, else $RINGCACHE_ADDR, else ./cluster.yml's, else 127.0.0.1:7401. */
function addressOf(o: { addr?: string; config?: string }): string {
  return clusterAddresses(o)[0]!;
}

/** A node's refusal (a gRPC error) as a typed error: a person's mistake, not a bug, so no stack. */
function fromNode(err: { code?: number; details?: string; message: string }): RingCacheError {
  return errorFromWire(err.code ?? Code.UNAVAILABLE, err.details ?? err.message, undefined);
}

interface NodeOptions {
  config?: string;
  id: string;
  join?: string;
  address?: string;
  http?: string;
  listen?: string;
  httpListen?: string;
}

/** The cluster secret from RINGCACHE_CLUSTER_TOKEN_FILE or RINGCACHE_CLUSTER_TOKEN, when set. */
function clusterToken(): string | undefined {
  return clusterTokenFromEnv();
}

async function runNode(opts: NodeOptions): Promise<void> {
  // A StatefulSet gives each pod its name through the environment (deploy/k8s): it is the node id.
  opts.id ||= process.env.RINGCACHE_NODE_ID ?? '';
  if (!opts.id) {
    throw new RingCacheError('CONFIG_INVALID', 'which node is this? pass --id ID or set RINGCACHE_NODE_ID');
  }
  const fromEnv = process.env[CONFIG_ENV];
  const fileConfig = fromEnv
    ? (JSON.parse(fromEnv) as ClusterConfig)
    : loadConfig(opts.config ?? 'cluster.yml');
  const config = nodeConfigOf(fileConfig, opts);
  const logger = createRootLogger({ cluster: config.name });
  const { CacheNode } = lazy.node();
  // Not serving until it is on the cluster's ring, joining it when not (join.ts).
  const admission = new AbortController();
  const node: NodeModule.CacheNode = new CacheNode({
    config,
    nodeId: opts.id,
    logger,
    clusterToken: clusterToken(),
    admit: () =>
      admit({
        node,
        inFile: fileConfig.nodes.some((n) => n.id === opts.id),
        seeds: seedsOf(config, opts.id, opts.join),
        clusterToken: clusterToken(),
        logger,
        signal: admission.signal,
      }),
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    admission.abort();
    logger.info({ signal }, 'shutdown requested');
    node.stop().then(
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Certificate rotation: the TLS files are read again, without a restart.
  process.on('SIGHUP', () => void node.reloadTls());
  try {
    await node.start();
    if (!node.serving) return; // stopped before it was admitted
    // Plain line on stdout, whatever the log level: people see it, and `up` waits for it.
    process.stdout.write(`${READY_LINE} ${node.id} ${node.self.address} http ${node.self.http}\n`);
  } catch (err) {
    logger.error({ err: isRingCacheError(err) ? err.message : err }, 'node failed to start');
    await node.stop().catch(() => undefined);
    throw err;
  }
}

const program = addTlsOptions(
  new Command()
    .name('ringcache')
    .description('A distributed in-memory cache cluster: run nodes, a local cluster, and talk to it.')
    .version(packageVersion(), '--version', 'print the version')
    .option('--debug', 'print where an unexpected error came from (its stack)')
    .showHelpAfterError()
    // Usage mistakes end with exit code 2 (parseAsync below), not commander's 1.
    .exitOverride(),
);

program
  .command('node')
  .description('run one node of the cluster described by the config file')
  .option('--id <id>', "this node's id in the config (e.g. n1); default $RINGCACHE_NODE_ID")
  .option('--config <file>', 'cluster config', 'cluster.yml')
  .option(
    '--join <host:port>',
    "a member to join through, asked before the config's nodes (a node not on the ring joins by itself)",
  )
  .option(
    '--address <host:port>',
    "this node's gRPC address, for a node not in the config (else checked against it)",
  )
  .option(
    '--http <host:port>',
    "this node's HTTP address, for a node not in the config (else checked against it)",
  )
  .option(
    '--listen <host:port>',
    'where a node not in the config binds gRPC, when not --address (e.g. 0.0.0.0:7401)',
  )
  .option('--http-listen <host:port>', 'where a node not in the config binds HTTP, when not --http')
  .action((o: NodeOptions) => runNode(o).catch(fail));

program
  .command('leave <id>')
  .description('remove node ID from the ring; its keys move to their new owners (then stop the node)')
  .option(
    '--addr <host:port>',
    `any member of the cluster (default: --config's, $${ADDR_ENV}, 127.0.0.1:7401)`,
  )
  .option('--config <file>', 'a member of this cluster config')
  .option('--no-wait', 'return once the ring has changed, without waiting for the keys to move')
  .option('--timeout <duration>', 'how long to wait for the keys to move', '10m')
  .action(async (id: string, o: { addr?: string; config?: string; wait: boolean; timeout: string }) => {
    // A ring change waits for a majority of the members to agree: seconds on a busy machine.
    const client = new UnaryClient(addressOf(o), 30_000, clusterToken(), tlsOf(program), userTokenFromEnv());
    type Topology = { epoch: number; members: { id: string; httpAddress: string }[] };
    try {
      const timeoutMs = parseDuration(o.timeout, '--timeout');
      // Its HTTP address, while it is still a member: that is where its progress and health are.
      const before = await client.cluster<Topology>('Topology', {}).catch((err: Error) => {
        throw fromNode(err);
      });
      const http = before.members.find((m) => m.id === id)?.httpAddress;
      const t = await client.cluster<Topology>('Leave', { id }).catch(async (err: Error) => {
        const refusal = fromNode(err);
        // Ordered, but acknowledged by fewer than a majority in time (peers busy): the member
        // asked holds the new ring and gossip spreads it, never undone. The wait below is what
        // tells whether the node handed its keys over; without it the answer stays an error.
        if (!o.wait || refusal.code !== 'UNAVAILABLE') throw refusal;
        const now = await client.cluster<Topology>('Topology', {}).catch(() => undefined);
        if (!now || now.members.some((m) => m.id === id)) throw refusal;
        process.stderr.write(`ringcache: ${refusal.message}\nwaiting for ${id} to hand its keys over\n`);
        return now;
      });
      process.stdout.write(`ring epoch ${t.epoch}: ${t.members.map((m) => m.id).join(', ')}\n`);
      if (!o.wait || !http) return;
      const outcome = await waitForLeave(id, http, timeoutMs);
      if (outcome === 'done')
        process.stdout.write(`${id} handed its keys over and is not serving: it can be stopped\n`);
      else if (outcome === 'unreachable')
        process.stdout.write(
          `${id} does not answer on ${http}: its keys are rebuilt from their other replicas\n`,
        );
      else
        fail(
          new RingCacheError('DEADLINE_EXCEEDED', `${id} was still handing its keys over after ${o.timeout}`),
        );
    } catch (err) {
      fail(err);
    } finally {
      client.close();
    }
  });

program
  .command('flush')
  .description('delete every key (or every key starting with --prefix) on every node; needs --yes')
  .option(
    '--addr <host:port>',
    `any member of the cluster (default: --config's, $${ADDR_ENV}, 127.0.0.1:7401)`,
  )
  .option('--config <file>', 'a member of this cluster config')
  .option('--prefix <prefix>', 'only keys that start with it')
  .option('--yes', 'confirm: a flush cannot be undone')
  .action((o: { addr?: string; config?: string; prefix?: string; yes?: boolean }) => {
    if (!o.yes) {
      fail(
        new RingCacheError(
          'CONFIG_INVALID',
          `flush deletes every key${o.prefix ? ` starting with '${o.prefix}'` : ''} on every node and cannot be undone; run it again with --yes`,
        ),
      );
      return;
    }
    const client = new UnaryClient(addressOf(o), 30_000, clusterToken(), tlsOf(program), userTokenFromEnv());
    client
      .cluster<{ keysDeleted: number; nodes: string[] }>('Flush', { prefix: o.prefix ?? '', confirm: true })
      .then((r) => process.stdout.write(`flushed ${r.keysDeleted} keys on ${r.nodes.join(', ')}\n`))
      .catch((err: { code?: number; details?: string; message: string }) => fail(fromNode(err)))
      .finally(() => client.close());
  });

program
  .command('up')
  .description(
    'start every node of the cluster as its own process, wait until all serve, stop them all on Ctrl-C',
  )
  .option('--config <file>', 'cluster config', 'cluster.yml')
  .option('--nodes <n>', 'ignore the file: run n nodes on 127.0.0.1:7401.. (http 9401..), writing nothing')
  .option('--base-port <port>', 'with --nodes: the first gRPC port (http ports start 2000 above it)', '7401')
  .option('--tls', 'over TLS, client certificates required, with a local CA (made on first use)')
  .option('--tls-dir <dir>', 'with --tls: where the certificates are kept', '.ringcache/tls')
  .option('--verbose', "every log line of the nodes, gossip's probes included")
  .action(
    (o: {
      config: string;
      nodes?: string;
      basePort: string;
      tls?: boolean;
      tlsDir: string;
      verbose?: boolean;
    }) => {
      try {
        lazy
          .up()
          .runUp(configFrom(o), { tlsDir: o.tls ? o.tlsDir : undefined, verbose: o.verbose })
          .catch(fail);
      } catch (err) {
        fail(err);
      }
    },
  );

program
  .command('certs')
  .description(
    'make a local CA and TLS certificates for every node and a client, to try TLS and mTLS locally',
  )
  .requiredOption('--out <dir>', 'directory to write to (made with mode 0700 when absent)')
  .requiredOption('--nodes <ids>', 'node ids, comma-separated (e.g. n1,n2,n3): one certificate each')
  .option('--hosts <list>', 'more names and addresses for every node certificate, comma-separated', '')
  .option('--days <n>', 'how long the certificates are valid', '825')
  .option('--force', 'replace an existing CA (ca.pem) and its certificates in --out')
  .addHelpText(
    'after',
    `
Makes, in --out:
  ca.pem, ca-key.pem           a self-signed CA (EC P-256), only for these certificates
  <id>.pem, <id>-key.pem       for each node: CN=<id>, serverAuth and clientAuth (the node's
                               server certificate, and its client one towards its peers for mTLS);
                               names DNS:<id>, localhost, 127.0.0.1, ::1 and every --hosts entry
  client.pem, client-key.pem   CN=client, clientAuth: for the SDK, the CLI, buf curl
Private keys are written with mode 0600. It needs the openssl binary.

Then, in cluster.yml, under cluster: ({id} stands for each node's own id):
  cluster:
    tls:
      ca: DIR/ca.pem
      cert: DIR/{id}.pem
      key: DIR/{id}-key.pem
      client_auth: require
and for the SDK and CLI:  --tls-ca DIR/ca.pem --tls-cert DIR/client.pem --tls-key DIR/client-key.pem
and buf curl:             buf curl --cacert DIR/ca.pem --cert DIR/client.pem --key DIR/client-key.pem

This is for trying TLS locally. Production should use its own CA (e.g. cert-manager), not these files.

Example:
  ringcache certs --out ./certs --nodes n1,n2,n3 --hosts my-host.example`,
  )
  .action((o: { out: string; nodes: string; hosts: string; days: string; force?: boolean }) => {
    // Empty entries are kept, so that makeCerts refuses "n1,,n2" rather than guessing.
    const list = (s: string) => (s.trim() === '' ? [] : s.split(',').map((x) => x.trim()));
    const days = /^\d+$/.test(o.days) ? Number(o.days) : NaN;
    const { makeCerts, usageText } = lazy.certs();
    makeCerts({ out: o.out, nodes: list(o.nodes), hosts: list(o.hosts), days, force: o.force === true })
      .then((files) => process.stdout.write(usageText(files)))
      .catch(fail);
  });

program
  .command('ring')
  .description("print each node's share of the hash ring")
  .option('--config <file>', 'cluster config', 'cluster.yml')
  .option('--nodes <n>', 'a generated local cluster of n nodes instead of the file')
  .action((o: { config: string; nodes?: string }) => {
    try {
      const config = configFrom(o);
      const shares = ringSharePercents(config, 2);
      const rows = config.nodes.map((n) => [n.id, n.address, shares.get(n.id) ?? '']);
      process.stdout.write(formatTable(['node', 'gRPC address', 'ring share'], rows));
      process.stdout.write(`vnodes ${config.vnodes}, replication factor ${config.replication.factor}\n`);
    } catch (err) {
      fail(err);
    }
  });

type StatusFlags = {
  addr?: string;
  config?: string;
  watch?: boolean;
  interval: string;
  json?: boolean;
  hot?: boolean;
};

program
  .command('status')
  .description(
    'one table of the members (state, ring share, keys, memory, ops/s, p99, reads/s, hit ratio, hints), totals and warnings',
  )
  .option('--addr <host:port,...>', `members to ask (default: --config's nodes, $${ADDR_ENV}, ./cluster.yml)`)
  .option('--config <file>', 'ask the nodes of this cluster config')
  .option('--watch', 'refresh every --interval until interrupted')
  .option('--interval <duration>', 'between refreshes, and between the two samples rates need', '1s')
  .option('--json', 'print JSON (with --watch, one object a line)')
  .option('--hot', "also each member's most-read and most-written keys (sampled estimates)")
  .action((o: StatusFlags) => {
    try {
      const { runStatus, statusInterval } = lazy.status();
      runStatus({
        seeds: clusterAddresses(o),
        clusterToken: clusterToken(),
        userToken: userTokenFromEnv(),
        tls: tlsOf(program),
        timeoutMs: 3000,
        json: o.json === true,
        watch: o.watch === true,
        intervalMs: statusInterval(o.interval),
        hot: o.hot === true,
      }).catch(fail);
    } catch (err) {
      fail(err);
    }
  });

addDataCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // commander has printed what was wrong (or the help, or the version) already.
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  else fail(err);
});

/** This package's version, from its package.json (two folders above dist/src/cli). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
