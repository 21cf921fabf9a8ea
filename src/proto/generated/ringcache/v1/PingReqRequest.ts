// Original file: proto/ringcache/v1/peer.proto

import type { MemberUpdate as _ringcache_v1_MemberUpdate, MemberUpdate__Output as _ringcache_v1_MemberUpdate__Output } from '../../ringcache/v1/MemberUpdate';

export interface PingReqRequest {
  'from'?: (string);
  'target'?: (string);
  'updates'?: (_ringcache_v1_MemberUpdate)[];
}

export interface PingReqRequest__Output {
  'from': (string);
  'target': (string);
  'updates': (_ringcache_v1_MemberUpdate__Output)[];
}
