// Original file: proto/ringcache/v1/cluster.proto

import type { MemberState as _ringcache_v1_MemberState, MemberState__Output as _ringcache_v1_MemberState__Output } from '../../ringcache/v1/MemberState';
import type { Long } from '@grpc/proto-loader';

export interface Member {
  'id'?: (string);
  'address'?: (string);
  'httpAddress'?: (string);
  'state'?: (_ringcache_v1_MemberState);
  'incarnation'?: (number | string | Long);
  'sinceEpoch'?: (number | string | Long);
}

export interface Member__Output {
  'id': (string);
  'address': (string);
  'httpAddress': (string);
  'state': (_ringcache_v1_MemberState__Output);
  'incarnation': (number);
  'sinceEpoch': (number);
}
