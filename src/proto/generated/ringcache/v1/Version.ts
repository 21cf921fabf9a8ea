// Original file: proto/ringcache/v1/types.proto

import type { Long } from '@grpc/proto-loader';

export interface Version {
  'timestamp'?: (number | string | Long);
  'node'?: (string);
}

export interface Version__Output {
  'timestamp': (number);
  'node': (string);
}
