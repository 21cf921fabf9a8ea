// Original file: proto/ringcache/v1/peer.proto

import type { Member as _ringcache_v1_Member, Member__Output as _ringcache_v1_Member__Output } from '../../ringcache/v1/Member';
import type { Long } from '@grpc/proto-loader';

export interface RingState {
  'epoch'?: (number | string | Long);
  'members'?: (_ringcache_v1_Member)[];
}

export interface RingState__Output {
  'epoch': (number);
  'members': (_ringcache_v1_Member__Output)[];
}
