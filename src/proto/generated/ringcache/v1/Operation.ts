// Original file: proto/ringcache/v1/cache.proto

import type { GetRequest as _ringcache_v1_GetRequest, GetRequest__Output as _ringcache_v1_GetRequest__Output } from '../../ringcache/v1/GetRequest';
import type { SetRequest as _ringcache_v1_SetRequest, SetRequest__Output as _ringcache_v1_SetRequest__Output } from '../../ringcache/v1/SetRequest';
import type { DeleteRequest as _ringcache_v1_DeleteRequest, DeleteRequest__Output as _ringcache_v1_DeleteRequest__Output } from '../../ringcache/v1/DeleteRequest';
import type { TouchRequest as _ringcache_v1_TouchRequest, TouchRequest__Output as _ringcache_v1_TouchRequest__Output } from '../../ringcache/v1/TouchRequest';
import type { IncrementRequest as _ringcache_v1_IncrementRequest, IncrementRequest__Output as _ringcache_v1_IncrementRequest__Output } from '../../ringcache/v1/IncrementRequest';
import type { CompareAndSetRequest as _ringcache_v1_CompareAndSetRequest, CompareAndSetRequest__Output as _ringcache_v1_CompareAndSetRequest__Output } from '../../ringcache/v1/CompareAndSetRequest';
import type { Long } from '@grpc/proto-loader';

export interface Operation {
  'id'?: (number);
  'get'?: (_ringcache_v1_GetRequest | null);
  'set'?: (_ringcache_v1_SetRequest | null);
  'delete'?: (_ringcache_v1_DeleteRequest | null);
  'touch'?: (_ringcache_v1_TouchRequest | null);
  'increment'?: (_ringcache_v1_IncrementRequest | null);
  'compareAndSet'?: (_ringcache_v1_CompareAndSetRequest | null);
  'notAfterMs'?: (number | string | Long);
  'op'?: "get"|"set"|"delete"|"touch"|"increment"|"compareAndSet";
}

export interface Operation__Output {
  'id': (number);
  'get'?: (_ringcache_v1_GetRequest__Output | null);
  'set'?: (_ringcache_v1_SetRequest__Output | null);
  'delete'?: (_ringcache_v1_DeleteRequest__Output | null);
  'touch'?: (_ringcache_v1_TouchRequest__Output | null);
  'increment'?: (_ringcache_v1_IncrementRequest__Output | null);
  'compareAndSet'?: (_ringcache_v1_CompareAndSetRequest__Output | null);
  'notAfterMs': (number);
  'op'?: "get"|"set"|"delete"|"touch"|"increment"|"compareAndSet";
}
