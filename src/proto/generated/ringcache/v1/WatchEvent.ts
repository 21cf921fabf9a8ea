// Original file: proto/ringcache/v1/cache.proto

import type { ChangeKind as _ringcache_v1_ChangeKind, ChangeKind__Output as _ringcache_v1_ChangeKind__Output } from '../../ringcache/v1/ChangeKind';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  'sequence'?: (number | string | Long);
  'key'?: (string);
  'kind'?: (_ringcache_v1_ChangeKind);
  'version'?: (_ringcache_v1_Version | null);
  'node'?: (string);
}

export interface WatchEvent__Output {
  'sequence': (number);
  'key': (string);
  'kind': (_ringcache_v1_ChangeKind__Output);
  'version': (_ringcache_v1_Version__Output | null);
  'node': (string);
}
