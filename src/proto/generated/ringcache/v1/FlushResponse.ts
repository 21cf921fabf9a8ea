// Original file: proto/ringcache/v1/cluster.proto

import type { Long } from '@grpc/proto-loader';

export interface FlushResponse {
  'keysDeleted'?: (number | string | Long);
  'nodes'?: (string)[];
}

export interface FlushResponse__Output {
  'keysDeleted': (number);
  'nodes': (string)[];
}
