// Original file: proto/ringcache/v1/cache.proto

import type { Operation as _ringcache_v1_Operation, Operation__Output as _ringcache_v1_Operation__Output } from '../../ringcache/v1/Operation';

export interface PipelineRequest {
  'ops'?: (_ringcache_v1_Operation)[];
  'frameId'?: (number);
  'timeoutMs'?: (number);
}

export interface PipelineRequest__Output {
  'ops': (_ringcache_v1_Operation__Output)[];
  'frameId': (number);
  'timeoutMs': (number);
}
