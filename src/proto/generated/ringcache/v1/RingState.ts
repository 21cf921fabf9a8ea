// Original file: proto/ringcache/v1/peer.proto

import type { Member as _ringcache_v1_Member, Member__Output as _ringcache_v1_Member__Output } from '../../ringcache/v1/Member';
import type { RingDeparture as _ringcache_v1_RingDeparture, RingDeparture__Output as _ringcache_v1_RingDeparture__Output } from '../../ringcache/v1/RingDeparture';
import type { Long } from '@grpc/proto-loader';

export interface RingState {
  'epoch'?: (number | string | Long);
  'members'?: (_ringcache_v1_Member)[];
  'departed'?: (_ringcache_v1_RingDeparture)[];
}

export interface RingState__Output {
  'epoch': (number);
  'members': (_ringcache_v1_Member__Output)[];
  'departed': (_ringcache_v1_RingDeparture__Output)[];
}
