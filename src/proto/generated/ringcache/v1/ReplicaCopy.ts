// Original file: proto/ringcache/v1/cluster.proto

import type { MemberState as _ringcache_v1_MemberState, MemberState__Output as _ringcache_v1_MemberState__Output } from '../../ringcache/v1/MemberState';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { Long } from '@grpc/proto-loader';

export interface ReplicaCopy {
  'nodeId'?: (string);
  'address'?: (string);
  'state'?: (_ringcache_v1_MemberState);
  'holds'?: (boolean);
  'version'?: (_ringcache_v1_Version | null);
  'tombstone'?: (boolean);
  'expiresAtMs'?: (number | string | Long);
  'error'?: (string);
}

export interface ReplicaCopy__Output {
  'nodeId': (string);
  'address': (string);
  'state': (_ringcache_v1_MemberState__Output);
  'holds': (boolean);
  'version': (_ringcache_v1_Version__Output | null);
  'tombstone': (boolean);
  'expiresAtMs': (number);
  'error': (string);
}
