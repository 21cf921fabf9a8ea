/**
 * NestJS's CacheModule over ringcache, through the Keyv adapter (issue 14 §1). Written without
 * decorator syntax (Module() called as a function) so it builds with this repo's tsconfig; in an
 * app, `@Module({ imports: [CacheModule.register(...)] })` is the same thing.
 *
 *   npm start
 *   npm run build && node dist/examples/nestjs.js 127.0.0.1:7401
 */
import 'reflect-metadata';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Cache } from 'cache-manager';
// cache-manager v7 speaks Keyv 5's API (get(key, { raw: true })): give it a Keyv 5, which this
// adapter serves as well as Keyv 6 (it takes Keyv 5's relative TTLs too).
import Keyv from 'keyv-5';
import { KeyvRingCache } from '../src/keyv/index';

export async function nestExample(seeds: string[]): Promise<string[]> {
  class AppModule {}
  Module({
    imports: [
      CacheModule.register({
        stores: [new Keyv({ store: new KeyvRingCache({ seeds, namespace: 'nest' }) })],
        ttl: 60_000, // ms
      }),
    ],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const log: string[] = [];
  try {
    const cache = app.get<Cache>(CACHE_MANAGER);
    await cache.set('greeting', 'hello from NestJS');
    log.push(`get: ${String(await cache.get('greeting'))}`);
    let calls = 0;
    const compute = () => Promise.resolve(++calls * 10);
    const value = await cache.wrap('computed', compute);
    const again = await cache.wrap('computed', compute);
    log.push(`wrap: ${value} then ${again}, computed ${calls} time(s)`);
    await cache.set('brief', 'gone soon', 200);
    await new Promise((r) => setTimeout(r, 300));
    log.push(`after its 200 ms ttl: ${String(await cache.get('brief'))}`);
    await cache.del('greeting');
    log.push(`after del: ${String(await cache.get('greeting'))}`);
    await cache.clear();
    log.push(`after clear: ${String(await cache.get('computed'))}`);
    await cache.disconnect();
  } finally {
    await app.close();
  }
  return log;
}

if (require.main === module) {
  const seeds = process.argv.slice(2);
  nestExample(seeds.length ? seeds : ['127.0.0.1:7401']).then(
    (log) => console.log(log.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
