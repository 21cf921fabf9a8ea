// Original file: proto/ringcache/v1/peer.proto

import type { MemberState as _ringcache_v1_MemberState, MemberState__Output as _ringcache_v1_MemberState__Output } from '../../ringcache/v1/MemberState';
import type { Long } from '@grpc/proto-loader';

export interface MemberUpdate {
  'id'?: (string);
  'state'?: (_ringcache_v1_MemberState);
  'incarnation'?: (number | string | Long);
}

export interface MemberUpdate__Output {
  'id': (string);
  'state': (_ringcache_v1_MemberState__Output);
  'incarnation': (number);
}
