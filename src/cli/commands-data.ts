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
import { formatTable } from './table';
import { tlsOf } from './tls-flags';
import { UnaryClient } from './unary-client';
import { userTokenFromEnv } from '../transport/user-token';

const DEFAULT_ADDR = '127.0.0.1:7401';

/** A value as a person wants to read it: text as is, msgpack as JSON, raw bytes as base64. */
export function renderValue(res: GetResponseMsg): string {
  if (res.flags === ValueFlags.UTF8) return res.value.toString('utf8');
  if (res.flags === ValueFlags.MSGPACK) return JSON.stringify(unpack(res.value));
  return `base64:${res.value.toString('base64')}`;
}

async function withClient(
  program: Command,
  addr: string,
  run: (c: UnaryClient) => Promise<void>,
): Promise<void> {
  let client: UnaryClient;
  try {
    client = new UnaryClient(addr, 5000, undefined, tlsOf(program), userTokenFromEnv());
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    await run(client);
  } catch (err) {
    const e = err as grpc.ServiceError;
    process.stderr.write(`error: ${e.details ?? e.message} (${addr})\n`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

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

/** `ringcache get|set|del|ttl|explain`: quick use against any node (it forwards to the key's owner). */
export function addDataCommands(program: Command): void {
  program
    .command('explain <key>')
    .description("print KEY's ring position, its replicas and the version each holds")
    .option('--addr <host:port>', 'any node of the cluster', DEFAULT_ADDR)
    .action((key: string, o: { addr: string }) =>
      withClient(program, o.addr, async (c) => {
        process.stdout.write(renderExplain(await c.cluster<ExplainResponseMsg>('Explain', { key })));
      }),
    );
  program
    .command('get <key>')
    .description('print the value of KEY (exit code 1 when absent)')
    .option('--addr <host:port>', 'any node of the cluster', DEFAULT_ADDR)
    .action((key: string, o: { addr: string }) =>
      withClient(program, o.addr, async (c) => {
        const res = await c.cache<GetResponseMsg>('Get', { key });
        if (!res.found) {
          process.stderr.write(`(not found) ${key}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${renderValue(res)}\n`);
      }),
    );
  program
    .command('set <key> <value>')
    .description('store VALUE (as UTF-8 text) under KEY')
    .option('--addr <host:port>', 'any node of the cluster', DEFAULT_ADDR)
    .option('--ttl <duration>', 'time to live: 500ms, 30s, 5m, 2h (default: none)')
    .option('--nx', 'only if KEY is absent')
    .option('--xx', 'only if KEY is present')
    .action((key: string, value: string, o: { addr: string; ttl?: string; nx?: boolean; xx?: boolean }) =>
      withClient(program, o.addr, async (c) => {
        const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl') : 0;
        const mode = o.nx ? 1 : o.xx ? 2 : 0;
        const res = await c.cache<SetResponseMsg>('Set', {
          key,
          value: Buffer.from(value, 'utf8'),
          flags: ValueFlags.UTF8,
          ttlMs,
          mode,
        });
        process.stdout.write(res.stored ? 'OK\n' : 'NOT STORED\n');
      }),
    );
  program
    .command('del <key>')
    .description('delete KEY')
    .option('--addr <host:port>', 'any node of the cluster', DEFAULT_ADDR)
    .action((key: string, o: { addr: string }) =>
      withClient(program, o.addr, async (c) => {
        const res = await c.cache<DeleteResponseMsg>('Delete', { key });
        process.stdout.write(res.deleted ? 'DELETED\n' : 'NOT FOUND\n');
      }),
    );
  program
    .command('ttl <key> [duration]')
    .description('print the remaining TTL of KEY, or give it a new one (0 = never expires)')
    .option('--addr <host:port>', 'any node of the cluster', DEFAULT_ADDR)
    .action((key: string, duration: string | undefined, o: { addr: string }) =>
      withClient(program, o.addr, async (c) => {
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
        if (!res.found) {
          process.stderr.write(`(not found) ${key}\n`);
          process.exitCode = 1;
        } else process.stdout.write(res.ttlMs === 0 ? 'no expiry\n' : `${res.ttlMs} ms\n`);
      }),
    );
}
