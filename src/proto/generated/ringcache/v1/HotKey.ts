// Original file: proto/ringcache/v1/cluster.proto

import type { Long } from '@grpc/proto-loader';

export interface HotKey {
  'key'?: (string);
  'count'?: (number | string | Long);
  'error'?: (number | string | Long);
}

export interface HotKey__Output {
  'key': (string);
  'count': (number);
  'error': (number);
}
