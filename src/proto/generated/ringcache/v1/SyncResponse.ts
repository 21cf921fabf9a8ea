// Original file: proto/ringcache/v1/peer.proto

import type { Record as _ringcache_v1_Record, Record__Output as _ringcache_v1_Record__Output } from '../../ringcache/v1/Record';

export interface SyncResponse {
  'records'?: (_ringcache_v1_Record)[];
  'requests'?: (Buffer | Uint8Array | string);
}

export interface SyncResponse__Output {
  'records': (_ringcache_v1_Record__Output)[];
  'requests': (Buffer);
}
