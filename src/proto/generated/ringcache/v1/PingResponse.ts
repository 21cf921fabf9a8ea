// Original file: proto/ringcache/v1/peer.proto

import type { MemberUpdate as _ringcache_v1_MemberUpdate, MemberUpdate__Output as _ringcache_v1_MemberUpdate__Output } from '../../ringcache/v1/MemberUpdate';
import type { Long } from '@grpc/proto-loader';

export interface PingResponse {
  'from'?: (string);
  'updates'?: (_ringcache_v1_MemberUpdate)[];
  'ack'?: (boolean);
  'ringEpoch'?: (number | string | Long);
  'clock'?: (number | string | Long);
  'ringDigest'?: (number);
  'wallClockMs'?: (number | string | Long);
  'probeId'?: (number);
}

export interface PingResponse__Output {
  'from': (string);
  'updates': (_ringcache_v1_MemberUpdate__Output)[];
  'ack': (boolean);
  'ringEpoch': (number);
  'clock': (number);
  'ringDigest': (number);
  'wallClockMs': (number);
  'probeId': (number);
}
