// Original file: proto/ringcache/v1/peer.proto

import type { MemberUpdate as _ringcache_v1_MemberUpdate, MemberUpdate__Output as _ringcache_v1_MemberUpdate__Output } from '../../ringcache/v1/MemberUpdate';
import type { Long } from '@grpc/proto-loader';

export interface PingRequest {
  'from'?: (string);
  'updates'?: (_ringcache_v1_MemberUpdate)[];
  'ringEpoch'?: (number | string | Long);
  'clock'?: (number | string | Long);
  'ringDigest'?: (number);
  'probeId'?: (number);
}

export interface PingRequest__Output {
  'from': (string);
  'updates': (_ringcache_v1_MemberUpdate__Output)[];
  'ringEpoch': (number);
  'clock': (number);
  'ringDigest': (number);
  'probeId': (number);
}
