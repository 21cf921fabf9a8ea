import type { Command } from 'commander';
import { unpack } from 'msgpackr';
import type * as grpc from '@grpc/grpc-js';
import {
  ValueFlags,
  type ExplainResponseMsg,
  type GetResponseMsg,
  type SetResponseMsg,
  type DeleteResponseMsg,
  type TouchResponseMsg,
} from '../proto/messages';
import { parseDuration } from './duration';
import { formatTable, printableKey } from './table';
import { tlsOf } from './tls-flags';
import { UnaryClient } from './unary-client';
import { isRingCacheError } from '../errors';
import { Code } from '../proto/messages';
import { errorFromWire } from '../proto/status-codes';
import { EXIT, exitCodeOf } from './exit-codes';
import { ADDR_ENV, clusterAddresses } from './addresses';
import { userTokenFromEnv } from '../transport/user-token';
import { RingCache } from '../client/ring-cache';

/** A value as JSON output carries it: text as a string, msgpack decoded, raw bytes as base64 text. */
function jsonValue(res: GetResponseMsg): unknown {
  if (res.flags === ValueFlags.UTF8) return res.value.toString('utf8');
  if (res.flags === ValueFlags.MSGPACK) return unpack(res.value) as unknown;
  return `base64:${res.value.toString('base64')}`;
}

/** A value as a person wants to read it: text as is, msgpack as JSON, raw bytes as base64. */
export function renderValue(res: GetResponseMsg): string {
  if (res.flags === ValueFlags.UTF8) return res.value.toString('utf8');
  if (res.flags === ValueFlags.MSGPACK) return JSON.stringify(unpack(res.value));
  return `base64:${res.value.toString('base64')}`;
}

/**
 * Runs a command against the node `--addr` (or --config's, $RINGCACHE_ADDR's) names. A mistake found
 * here is one line with exit code 2; a node's answer that is an error is one line naming the node,
 * with the exit code exit-codes.ts gives it (3 when the cluster is unreachable or refuses).
 */
async function withClient(
  program: Command,
  o: { addr?: string; config?: string },
  run: (c: UnaryClient) => Promise<void>,
): Promise<void> {
  let client: UnaryClient;
  let addr: string;
  try {
    addr = clusterAddresses(o)[0]!;
    client = new UnaryClient(addr, 5000, undefined, tlsOf(program), userTokenFromEnv());
  } catch (err) {
    process.stderr.write(`ringcache: ${(err as Error).message}\n`);
    process.exitCode = isRingCacheError(err) ? exitCodeOf(err) : EXIT.usage;
    return;
  }
  try {
    await run(client);
  } catch (err) {
    if (isRingCacheError(err)) {
      process.stderr.write(`ringcache: ${err.message}\n`);
      process.exitCode = exitCodeOf(err);
      return;
    }
    const e = err as grpc.ServiceError;
    const details = e.details ?? e.message;
    process.stderr.write(`ringcache: ${details} (${addr})\n`);
    process.exitCode = exitCodeOf(errorFromWire(e.code ?? Code.UNAVAILABLE, details, undefined));
  } finally {
    client.close();
  }
}

/** The options every data command takes to find a node, and --json for those that read. */
function withAddress(cmd: Command): Command {
  return cmd
    .option(
      '--addr <host:port>',
      `any node of the cluster (default: --config's, $${ADDR_ENV}, 127.0.0.1:7401)`,
    )
    .option('--config <file>', 'a node of this cluster config');
}

type AddressOptions = { addr?: string; config?: string; json?: boolean };

const STATE_NAMES = ['unknown', 'alive', 'suspect', 'dead', 'left'];

/** `ringcache explain KEY` as a table: one row per replica, in preference order. */
export function renderExplain(e: ExplainResponseMsg): string {
  const rows = e.replicas.map((r, i) => [
    `${i + 1}${i === 0 ? ' (owner)' : ''}`,
    r.nodeId,
    r.address,
    STATE_NAMES[r.state] ?? String(r.state),
    r.error ? `error: ${r.error}` : !r.holds ? '(nothing)' : r.tombstone ? 'tombstone' : 'value',
    r.version ? `${r.version.timestamp}@${r.version.node}` : '',
    r.holds && r.expiresAtMs ? new Date(r.expiresAtMs).toISOString() : '',
  ]);
  return (
    `key ${JSON.stringify(e.key)}: ring position ${e.ringPosition}, epoch ${e.epoch} (asked ${e.answeredBy})\n` +
    formatTable(['#', 'replica', 'address', 'state', 'holds', 'version', 'expires'], rows)
  );
}

/** --limit: a whole number of keys >= 1. */
function parseLimit(text: string | undefined): number {
  if (text === undefined) return Infinity;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`--limit must be a whole number of keys >= 1, got "${text}"`);
  return n;
}

/**
 * `ringcache keys PREFIX`: every key of the cluster under PREFIX, once each, through the SDK's scan
 * (it asks every node, a page at a time), printed as it comes: one key a line, or with --json one
 * JSON array written as it goes. Memory stays one page whatever the number of keys.
 */
async function listKeys(
  program: Command,
  prefix: string,
  o: AddressOptions & { limit?: string },
): Promise<void> {
  let limit: number;
  let seeds: string[];
  try {
    limit = parseLimit(o.limit);
    seeds = clusterAddresses(o);
  } catch (err) {
    process.stderr.write(`ringcache: ${(err as Error).message}\n`);
    process.exitCode = isRingCacheError(err) ? exitCodeOf(err) : EXIT.usage;
    return;
  }
  let cache: RingCache | undefined;
  let listed = 0;
  try {
    cache = await RingCache.connect({
      seeds,
      tls: tlsOf(program),
      token: userTokenFromEnv(),
      connectTimeoutMs: 5000,
      timeoutMs: 10_000,
      watchTopology: false,
    });
    for await (const key of cache.scan({ prefix })) {
      if (listed === limit) break;
      // The array is closed only once the scan is done: a scan that fails midway is no valid JSON.
      const sep = listed++ === 0 ? '[' : ',';
      process.stdout.write(o.json ? `${sep}${JSON.stringify(key)}` : `${printableKey(key)}\n`);
    }
    if (o.json) process.stdout.write(listed === 0 ? '[]\n' : ']\n');
  } catch (err) {
    if (o.json && listed > 0) process.stdout.write('\n');
    process.stderr.write(`ringcache: ${(err as Error).message}\n`);
    process.exitCode = exitCodeOf(err);
  } finally {
    await cache?.close();
  }
}

/** `ringcache get|set|del|ttl|explain`: quick use against any node (it forwards to the key's owner). */
export function addDataCommands(program: Command): void {
  withAddress(program.command('keys [prefix]'))
    .description('list the keys that start with PREFIX (every key without), across every node, each once')
    .option('--json', 'print one JSON array of keys')
    .option('--limit <n>', 'stop after N keys')
    .action((prefix: string | undefined, o: AddressOptions & { limit?: string }) =>
      listKeys(program, prefix ?? '', o),
    );
  withAddress(program.command('explain <key>'))
    .description("print KEY's ring position, its replicas and the version each holds")
    .option('--json', 'print JSON')
    .action((key: string, o: AddressOptions) =>
      withClient(program, o, async (c) => {
        const e = await c.cluster<ExplainResponseMsg>('Explain', { key });
        process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : renderExplain(e));
      }),
    );
  withAddress(program.command('get <key>'))
    .description('print the value of KEY (exit code 1 when absent)')
    .option('--json', 'print JSON: { key, found, value, ttlMs, version }')
    .action((key: string, o: AddressOptions) =>
      withClient(program, o, async (c) => {
        const res = await c.cache<GetResponseMsg>('Get', { key });
        if (!res.found) process.exitCode = EXIT.notDone;
        if (o.json) {
          const entry = res.found ? { value: jsonValue(res), ttlMs: res.ttlMs, version: res.version } : {};
          process.stdout.write(`${JSON.stringify({ key, found: res.found, ...entry })}\n`);
        } else if (res.found) process.stdout.write(`${renderValue(res)}\n`);
        else process.stderr.write(`(not found) ${printableKey(key)}\n`);
      }),
    );
  withAddress(program.command('set <key> <value>'))
    .description('store VALUE (as UTF-8 text) under KEY (exit code 1 when --nx or --xx stores nothing)')
    .option('--ttl <duration>', 'time to live: 500ms, 30s, 5m, 2h (default: none, even if KEY had one)')
    .option('--keep-ttl', "keep KEY's current expiry (--ttl then applies only if KEY is absent)")
    .option('--nx', 'only if KEY is absent')
    .option('--xx', 'only if KEY is present')
    .action(
      (
        key: string,
        value: string,
        o: AddressOptions & { ttl?: string; keepTtl?: boolean; nx?: boolean; xx?: boolean },
      ) =>
        withClient(program, o, async (c) => {
          const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl') : 0;
          const mode = o.nx ? 1 : o.xx ? 2 : 0;
          const res = await c.cache<SetResponseMsg>('Set', {
            key,
            value: Buffer.from(value, 'utf8'),
            flags: ValueFlags.UTF8,
            ttlMs,
            mode,
            keepTtl: o.keepTtl === true,
          });
          process.stdout.write(res.stored ? 'OK\n' : 'NOT STORED\n');
          if (!res.stored) process.exitCode = EXIT.notDone;
        }),
    );
  withAddress(program.command('del <key>'))
    .description('delete KEY (exit code 1 when it was absent)')
    .action((key: string, o: AddressOptions) =>
      withClient(program, o, async (c) => {
        const res = await c.cache<DeleteResponseMsg>('Delete', { key });
        process.stdout.write(res.deleted ? 'DELETED\n' : 'NOT FOUND\n');
        if (!res.deleted) process.exitCode = EXIT.notDone;
      }),
    );
  withAddress(program.command('ttl <key> [duration]'))
    .description('print the remaining TTL of KEY, or give it a new one (0 = never expires)')
    .option('--json', 'print JSON: { key, found, ttlMs } (ttlMs 0: never expires)')
    .action((key: string, duration: string | undefined, o: AddressOptions) =>
      withClient(program, o, async (c) => {
        if (duration !== undefined) {
          const res = await c.cache<TouchResponseMsg>('Touch', {
            key,
            ttlMs: parseDuration(duration, 'duration'),
          });
          process.stdout.write(res.found ? 'OK\n' : 'NOT FOUND\n');
          if (!res.found) process.exitCode = 1;
          return;
        }
        const res = await c.cache<GetResponseMsg>('Get', { key });
        if (!res.found) process.exitCode = EXIT.notDone;
        if (o.json) {
          const ttl = res.found ? { ttlMs: res.ttlMs } : {};
          process.stdout.write(`${JSON.stringify({ key, found: res.found, ...ttl })}\n`);
        } else if (!res.found) process.stderr.write(`(not found) ${printableKey(key)}\n`);
        else process.stdout.write(res.ttlMs === 0 ? 'no expiry\n' : `${res.ttlMs} ms\n`);
      }),
    );
}
