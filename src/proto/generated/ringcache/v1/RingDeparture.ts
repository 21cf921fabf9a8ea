// Original file: proto/ringcache/v1/cluster.proto

import type { Long } from '@grpc/proto-loader';

export interface RingDeparture {
  'id'?: (string);
  'epoch'?: (number | string | Long);
}

export interface RingDeparture__Output {
  'id': (string);
  'epoch': (number);
}
