import Memcached from 'memcached';
import type { Driver } from './types';

/** The client reports some failures as strings or plain objects. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err));
}

/** The `memcached` npm client over the given servers (it spreads keys with its own hash ring). */
export function memcachedDriver(servers: string[]): Driver {
  const options: Memcached.options & { minTimeout: number; maxTimeout: number } = {
    timeout: 5000,
    idle: 60_000,
    // Connections per server. The client writes many requests on one connection, but while a pool's
    // sockets are still connecting a request finds none usable ("The connection pool is full") and
    // waits for a retry: short retries keep the first burst of 256 requests from failing.
    poolSize: 16,
    retries: 20,
    minTimeout: 5,
    maxTimeout: 200,
    // Never take a server out of the ring during a benchmark.
    failures: 1000,
    retry: 100,
    remove: false,
  };
  const client = new Memcached(servers, options);
  return {
    get: (key) =>
      new Promise((resolve, reject) => {
        client.get(key, (err: unknown, data: unknown) => {
          if (err) reject(asError(err));
          else resolve(data !== undefined && data !== false);
        });
      }),
    set: (key, value) =>
      new Promise((resolve, reject) => {
        client.set(key, value, 0, (err: unknown) => {
          if (err) reject(asError(err));
          else resolve();
        });
      }),
    close: () => {
      client.end();
      return Promise.resolve();
    },
  };
}
