// Original file: proto/ringcache/v1/cache.proto

import type { OperationResult as _ringcache_v1_OperationResult, OperationResult__Output as _ringcache_v1_OperationResult__Output } from '../../ringcache/v1/OperationResult';

export interface SetManyResponse {
  'results'?: (_ringcache_v1_OperationResult)[];
}

export interface SetManyResponse__Output {
  'results': (_ringcache_v1_OperationResult__Output)[];
}
