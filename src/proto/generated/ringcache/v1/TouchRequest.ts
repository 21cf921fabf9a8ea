// Original file: proto/ringcache/v1/cache.proto

import type { Consistency as _ringcache_v1_Consistency, Consistency__Output as _ringcache_v1_Consistency__Output } from '../../ringcache/v1/Consistency';
import type { Long } from '@grpc/proto-loader';

export interface TouchRequest {
  'key'?: (string);
  'ttlMs'?: (number | string | Long);
  'consistency'?: (_ringcache_v1_Consistency);
  'requestId'?: (string);
}

export interface TouchRequest__Output {
  'key': (string);
  'ttlMs': (number);
  'consistency': (_ringcache_v1_Consistency__Output);
  'requestId': (string);
}
