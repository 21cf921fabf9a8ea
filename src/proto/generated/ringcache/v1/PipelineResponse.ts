// Original file: proto/ringcache/v1/cache.proto

import type { OperationResult as _ringcache_v1_OperationResult, OperationResult__Output as _ringcache_v1_OperationResult__Output } from '../../ringcache/v1/OperationResult';
import type { Long } from '@grpc/proto-loader';

export interface PipelineResponse {
  'results'?: (_ringcache_v1_OperationResult)[];
  'frameId'?: (number);
  'epoch'?: (number | string | Long);
}

export interface PipelineResponse__Output {
  'results': (_ringcache_v1_OperationResult__Output)[];
  'frameId': (number);
  'epoch': (number);
}
