// Original file: proto/ringcache/v1/cluster.proto

import type { ReplicaCopy as _ringcache_v1_ReplicaCopy, ReplicaCopy__Output as _ringcache_v1_ReplicaCopy__Output } from '../../ringcache/v1/ReplicaCopy';
import type { Long } from '@grpc/proto-loader';

export interface ExplainResponse {
  'key'?: (string);
  'ringPosition'?: (number);
  'epoch'?: (number | string | Long);
  'replicas'?: (_ringcache_v1_ReplicaCopy)[];
  'answeredBy'?: (string);
}

export interface ExplainResponse__Output {
  'key': (string);
  'ringPosition': (number);
  'epoch': (number);
  'replicas': (_ringcache_v1_ReplicaCopy__Output)[];
  'answeredBy': (string);
}
