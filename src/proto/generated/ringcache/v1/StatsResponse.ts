// Original file: proto/ringcache/v1/cluster.proto

import type { HotKey as _ringcache_v1_HotKey, HotKey__Output as _ringcache_v1_HotKey__Output } from '../../ringcache/v1/HotKey';
import type { Long } from '@grpc/proto-loader';

export interface StatsResponse {
  'nodeId'?: (string);
  'hits'?: (number | string | Long);
  'misses'?: (number | string | Long);
  'evictions'?: (number | string | Long);
  'expirations'?: (number | string | Long);
  'keys'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'maxBytes'?: (number | string | Long);
  'tombstones'?: (number | string | Long);
  'hintsPending'?: (number | string | Long);
  'epoch'?: (number | string | Long);
  'hotReads'?: (_ringcache_v1_HotKey)[];
  'hotWrites'?: (_ringcache_v1_HotKey)[];
  'requests'?: (number | string | Long);
  'requestDurationCounts'?: (number | string | Long)[];
  'requestDurationBoundsSeconds'?: (number | string)[];
  'rssBytes'?: (number | string | Long);
}

export interface StatsResponse__Output {
  'nodeId': (string);
  'hits': (number);
  'misses': (number);
  'evictions': (number);
  'expirations': (number);
  'keys': (number);
  'bytes': (number);
  'maxBytes': (number);
  'tombstones': (number);
  'hintsPending': (number);
  'epoch': (number);
  'hotReads': (_ringcache_v1_HotKey__Output)[];
  'hotWrites': (_ringcache_v1_HotKey__Output)[];
  'requests': (number);
  'requestDurationCounts': (number)[];
  'requestDurationBoundsSeconds': (number)[];
  'rssBytes': (number);
}
