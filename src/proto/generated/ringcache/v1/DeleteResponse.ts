// Original file: proto/ringcache/v1/cache.proto

import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';

export interface DeleteResponse {
  'deleted'?: (boolean);
  'version'?: (_ringcache_v1_Version | null);
}

export interface DeleteResponse__Output {
  'deleted': (boolean);
  'version': (_ringcache_v1_Version__Output | null);
}
