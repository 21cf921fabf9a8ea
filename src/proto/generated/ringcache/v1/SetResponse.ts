// Original file: proto/ringcache/v1/cache.proto

import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';

export interface SetResponse {
  'stored'?: (boolean);
  'version'?: (_ringcache_v1_Version | null);
}

export interface SetResponse__Output {
  'stored': (boolean);
  'version': (_ringcache_v1_Version__Output | null);
}
