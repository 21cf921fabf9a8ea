// Original file: proto/ringcache/v1/cluster.proto

import type { Member as _ringcache_v1_Member, Member__Output as _ringcache_v1_Member__Output } from '../../ringcache/v1/Member';
import type { Replication as _ringcache_v1_Replication, Replication__Output as _ringcache_v1_Replication__Output } from '../../ringcache/v1/Replication';
import type { RingDeparture as _ringcache_v1_RingDeparture, RingDeparture__Output as _ringcache_v1_RingDeparture__Output } from '../../ringcache/v1/RingDeparture';
import type { Long } from '@grpc/proto-loader';

export interface TopologyResponse {
  'clusterName'?: (string);
  'epoch'?: (number | string | Long);
  'members'?: (_ringcache_v1_Member)[];
  'vnodes'?: (number);
  'hashAlgorithm'?: (string);
  'replication'?: (_ringcache_v1_Replication | null);
  'answeredBy'?: (string);
  'catchingUp'?: (boolean);
  'departed'?: (_ringcache_v1_RingDeparture)[];
}

export interface TopologyResponse__Output {
  'clusterName': (string);
  'epoch': (number);
  'members': (_ringcache_v1_Member__Output)[];
  'vnodes': (number);
  'hashAlgorithm': (string);
  'replication': (_ringcache_v1_Replication__Output | null);
  'answeredBy': (string);
  'catchingUp': (boolean);
  'departed': (_ringcache_v1_RingDeparture__Output)[];
}
