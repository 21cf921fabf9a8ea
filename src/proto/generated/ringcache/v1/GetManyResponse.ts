// Original file: proto/ringcache/v1/cache.proto

import type { GetResponse as _ringcache_v1_GetResponse, GetResponse__Output as _ringcache_v1_GetResponse__Output } from '../../ringcache/v1/GetResponse';

export interface GetManyResponse {
  'results'?: (_ringcache_v1_GetResponse)[];
}

export interface GetManyResponse__Output {
  'results': (_ringcache_v1_GetResponse__Output)[];
}
