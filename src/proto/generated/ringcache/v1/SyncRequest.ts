// Original file: proto/ringcache/v1/peer.proto

import type { RingState as _ringcache_v1_RingState, RingState__Output as _ringcache_v1_RingState__Output } from '../../ringcache/v1/RingState';

export interface SyncRequest {
  'forNode'?: (string);
  'ring'?: (_ringcache_v1_RingState | null);
}

export interface SyncRequest__Output {
  'forNode': (string);
  'ring': (_ringcache_v1_RingState__Output | null);
}
