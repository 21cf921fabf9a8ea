import type { SystemId } from '../options';
import { memcached } from './memcached';
import { redisCluster } from './redis';
import { rawTransport, ringcacheN1, ringcacheN3 } from './ringcache';
import type { SystemDef } from './types';

export const SYSTEMS: Record<SystemId, SystemDef> = {
  'ringcache-n1': ringcacheN1,
  'ringcache-n3': ringcacheN3,
  redis: redisCluster,
  memcached,
  raw: rawTransport,
};
