// Original file: proto/ringcache/v1/cache.proto

import type { Consistency as _ringcache_v1_Consistency, Consistency__Output as _ringcache_v1_Consistency__Output } from '../../ringcache/v1/Consistency';

export interface GetRequest {
  'key'?: (string);
  'consistency'?: (_ringcache_v1_Consistency);
}

export interface GetRequest__Output {
  'key': (string);
  'consistency': (_ringcache_v1_Consistency__Output);
}
