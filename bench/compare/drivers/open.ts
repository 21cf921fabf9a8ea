import { memcachedDriver } from './memcached';
import { redisDriver } from './redis';
import { rawDriver, ringcacheDriver } from './ringcache';
import type { Driver, DriverSpec } from './types';

export function openDriver(spec: DriverSpec): Promise<Driver> {
  switch (spec.kind) {
    case 'ringcache':
      return ringcacheDriver(spec.seeds);
    case 'raw':
      return Promise.resolve(rawDriver(spec.address));
    case 'redis':
      return redisDriver(spec.nodes);
    case 'memcached':
      return Promise.resolve(memcachedDriver(spec.servers));
  }
}
