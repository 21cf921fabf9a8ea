// Original file: proto/ringcache/v1/cache.proto

import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { Long } from '@grpc/proto-loader';

export interface IncrementResponse {
  'value'?: (number | string | Long);
  'version'?: (_ringcache_v1_Version | null);
}

export interface IncrementResponse__Output {
  'value': (number);
  'version': (_ringcache_v1_Version__Output | null);
}
