/**
 * cache-manager v7 over ringcache, through the Keyv adapter (issue 14 §1).
 *
 *   npm start                      # a local cluster on 127.0.0.1:7401..
 *   npm run build && node dist/examples/cache-manager.js 127.0.0.1:7401
 */
import { createCache } from 'cache-manager';
// cache-manager v7 speaks Keyv 5's API (get(key, { raw: true })): give it a Keyv 5, which this
// adapter serves as well as Keyv 6 (it takes Keyv 5's relative TTLs too).
import Keyv from 'keyv-5';
import { KeyvRingCache } from '../src/keyv/index';

export async function cacheManagerExample(seeds: string[]): Promise<string[]> {
  const store = new KeyvRingCache({ seeds, namespace: 'example' });
  const cache = createCache({ stores: [new Keyv({ store })] });
  const log: string[] = [];
  let loads = 0;
  // What the cache saves you from: a slow load (a database, another service).
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return { id: 42, name: 'Ada' };
  };
  // wrap: the first call loads and caches (TTL in ms), the second is served from the cluster.
  const first = await cache.wrap('user:42', load, 60_000);
  const second = await cache.wrap('user:42', load, 60_000);
  log.push(`wrap: ${JSON.stringify(first)} then ${JSON.stringify(second)}, loaded ${loads} time(s)`);
  await cache.set('session:1', 'short-lived', 300);
  log.push(`set with ttl 300 ms: ${String(await cache.get('session:1'))}`);
  await new Promise((r) => setTimeout(r, 400));
  log.push(`after 400 ms: ${String(await cache.get('session:1'))}`);
  await cache.del('user:42');
  log.push(`after del: ${String(await cache.get('user:42'))}`);
  await cache.set('a', 1);
  await cache.set('b', 2);
  await cache.clear();
  log.push(`after clear: ${String(await cache.get('a'))} ${String(await cache.get('b'))}`);
  await cache.disconnect();
  return log;
}

if (require.main === module) {
  const seeds = process.argv.slice(2);
  cacheManagerExample(seeds.length ? seeds : ['127.0.0.1:7401']).then(
    (log) => console.log(log.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
