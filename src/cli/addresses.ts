import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load';
import { RingCacheError } from '../errors';

/** Environment variable with the addresses every command asks, comma-separated host:port. */
export const ADDR_ENV = 'RINGCACHE_ADDR';

/**
 * Where every command finds the cluster, first found wins: `--addr`, the nodes of `--config`, RINGCACHE_ADDR, the
 * nodes of ./cluster.yml, 127.0.0.1:7401.
 */
export function clusterAddresses(
  opts: { addr?: string; config?: string },
  env: NodeJS.ProcessEnv = process.env,
  cwdHasConfig = existsSync('cluster.yml'),
): string[] {
  const list = (text: string, from: string) => {
    const addrs = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const a of addrs) {
      if (!/^[^\s,]+:\d{1,5}$/.test(a))
        throw new RingCacheError('CONFIG_INVALID', `${from}: expected host:port, got "${a}"`);
    }
    if (addrs.length === 0) throw new RingCacheError('CONFIG_INVALID', `${from}: no address given`);
    return addrs;
  };
  if (opts.addr !== undefined) return list(opts.addr, '--addr');
  if (opts.config !== undefined) return loadConfig(opts.config).nodes.map((n) => n.address);
  if (env[ADDR_ENV]) return list(env[ADDR_ENV], ADDR_ENV);
  if (cwdHasConfig) return loadConfig('cluster.yml').nodes.map((n) => n.address);
  return ['127.0.0.1:7401'];
}
