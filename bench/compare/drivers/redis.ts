import { Cluster } from 'ioredis';
import type { Driver } from './types';

/** ioredis' Cluster client with auto-pipelining: a tick's commands go out as one write per node. */
export async function redisDriver(nodes: { host: string; port: number }[]): Promise<Driver> {
  const cluster = new Cluster(nodes, {
    enableAutoPipelining: true,
    redisOptions: { connectTimeout: 5000 },
    slotsRefreshTimeout: 5000,
  });
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', () => resolve());
    cluster.once('error', reject);
  });
  return {
    get: async (key) => (await cluster.getBuffer(key)) !== null,
    set: async (key, value) => {
      await cluster.set(key, value);
    },
    close: async () => {
      await cluster.quit();
    },
  };
}
