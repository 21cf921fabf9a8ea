// Original file: proto/ringcache/v1/peer.proto

import type { Record as _ringcache_v1_Record, Record__Output as _ringcache_v1_Record__Output } from '../../ringcache/v1/Record';
import type { OwedRing as _ringcache_v1_OwedRing, OwedRing__Output as _ringcache_v1_OwedRing__Output } from '../../ringcache/v1/OwedRing';

export interface SyncResponse {
  'records'?: (_ringcache_v1_Record)[];
  'requests'?: (Buffer | Uint8Array | string);
  'owedPeers'?: (string)[];
  'owedRings'?: (_ringcache_v1_OwedRing)[];
}

export interface SyncResponse__Output {
  'records': (_ringcache_v1_Record__Output)[];
  'requests': (Buffer);
  'owedPeers': (string)[];
  'owedRings': (_ringcache_v1_OwedRing__Output)[];
}
