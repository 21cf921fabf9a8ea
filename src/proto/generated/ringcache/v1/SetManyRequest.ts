// Original file: proto/ringcache/v1/cache.proto

import type { SetRequest as _ringcache_v1_SetRequest, SetRequest__Output as _ringcache_v1_SetRequest__Output } from '../../ringcache/v1/SetRequest';

export interface SetManyRequest {
  'items'?: (_ringcache_v1_SetRequest)[];
}

export interface SetManyRequest__Output {
  'items': (_ringcache_v1_SetRequest__Output)[];
}
