// Original file: proto/ringcache/v1/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface PeerFlushRequest {
  'prefix'?: (string);
  'confirm'?: (boolean);
  'fence'?: (number | string | Long);
}

export interface PeerFlushRequest__Output {
  'prefix': (string);
  'confirm': (boolean);
  'fence': (number);
}
