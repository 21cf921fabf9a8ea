// Original file: proto/ringcache/v1/cache.proto

import type { GetResponse as _ringcache_v1_GetResponse, GetResponse__Output as _ringcache_v1_GetResponse__Output } from '../../ringcache/v1/GetResponse';
import type { SetResponse as _ringcache_v1_SetResponse, SetResponse__Output as _ringcache_v1_SetResponse__Output } from '../../ringcache/v1/SetResponse';
import type { DeleteResponse as _ringcache_v1_DeleteResponse, DeleteResponse__Output as _ringcache_v1_DeleteResponse__Output } from '../../ringcache/v1/DeleteResponse';
import type { TouchResponse as _ringcache_v1_TouchResponse, TouchResponse__Output as _ringcache_v1_TouchResponse__Output } from '../../ringcache/v1/TouchResponse';
import type { IncrementResponse as _ringcache_v1_IncrementResponse, IncrementResponse__Output as _ringcache_v1_IncrementResponse__Output } from '../../ringcache/v1/IncrementResponse';
import type { CompareAndSetResponse as _ringcache_v1_CompareAndSetResponse, CompareAndSetResponse__Output as _ringcache_v1_CompareAndSetResponse__Output } from '../../ringcache/v1/CompareAndSetResponse';

export interface OperationResult {
  'id'?: (number);
  'code'?: (number);
  'message'?: (string);
  'get'?: (_ringcache_v1_GetResponse | null);
  'set'?: (_ringcache_v1_SetResponse | null);
  'delete'?: (_ringcache_v1_DeleteResponse | null);
  'touch'?: (_ringcache_v1_TouchResponse | null);
  'increment'?: (_ringcache_v1_IncrementResponse | null);
  'compareAndSet'?: (_ringcache_v1_CompareAndSetResponse | null);
  'error'?: (string);
  'result'?: "get"|"set"|"delete"|"touch"|"increment"|"compareAndSet";
}

export interface OperationResult__Output {
  'id': (number);
  'code': (number);
  'message': (string);
  'get'?: (_ringcache_v1_GetResponse__Output | null);
  'set'?: (_ringcache_v1_SetResponse__Output | null);
  'delete'?: (_ringcache_v1_DeleteResponse__Output | null);
  'touch'?: (_ringcache_v1_TouchResponse__Output | null);
  'increment'?: (_ringcache_v1_IncrementResponse__Output | null);
  'compareAndSet'?: (_ringcache_v1_CompareAndSetResponse__Output | null);
  'error': (string);
  'result'?: "get"|"set"|"delete"|"touch"|"increment"|"compareAndSet";
}
