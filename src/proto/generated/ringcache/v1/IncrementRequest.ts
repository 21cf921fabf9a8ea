// Original file: proto/ringcache/v1/cache.proto

import type { Consistency as _ringcache_v1_Consistency, Consistency__Output as _ringcache_v1_Consistency__Output } from '../../ringcache/v1/Consistency';
import type { Long } from '@grpc/proto-loader';

export interface IncrementRequest {
  'key'?: (string);
  'delta'?: (number | string | Long);
  'initial'?: (number | string | Long);
  'ttlMs'?: (number | string | Long);
  'consistency'?: (_ringcache_v1_Consistency);
  'requestId'?: (string);
}

export interface IncrementRequest__Output {
  'key': (string);
  'delta': (number);
  'initial': (number);
  'ttlMs': (number);
  'consistency': (_ringcache_v1_Consistency__Output);
  'requestId': (string);
}
