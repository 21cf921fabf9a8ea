/** The ringcache SDK: `import { RingCache } from 'ringcache'`. Nothing of the server is exported here. */
export { RingCache } from './client/ring-cache';
export type {
  RingCacheOptions,
  CallOptions,
  SetOptions,
  IncrOptions,
  Consistency,
  Version,
  CacheEntry,
  SetManyEntry,
  FlushOptions,
  TlsOptions,
  RingCacheStatus,
} from './client/options';
export type { GetOrSetOptions } from './client/get-or-set';
export type { ScanOptions } from './client/key-scan';
export type { NearCacheOptions, NearCacheStats } from './client/near-cache';
export type { ClusterInfo, ClientMember, MemberStateName } from './client/topology-client';
export type { TypedRingCache } from './client/typed';
export { RingCacheError, isRingCacheError, type ErrorCode } from './errors';
