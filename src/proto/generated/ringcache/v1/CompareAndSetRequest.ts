// Original file: proto/ringcache/v1/cache.proto

import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { ValueFlags as _ringcache_v1_ValueFlags, ValueFlags__Output as _ringcache_v1_ValueFlags__Output } from '../../ringcache/v1/ValueFlags';
import type { Consistency as _ringcache_v1_Consistency, Consistency__Output as _ringcache_v1_Consistency__Output } from '../../ringcache/v1/Consistency';
import type { Long } from '@grpc/proto-loader';

export interface CompareAndSetRequest {
  'key'?: (string);
  'expected'?: (_ringcache_v1_Version | null);
  'value'?: (Buffer | Uint8Array | string);
  'flags'?: (_ringcache_v1_ValueFlags);
  'ttlMs'?: (number | string | Long);
  'consistency'?: (_ringcache_v1_Consistency);
  'requestId'?: (string);
  'keepTtl'?: (boolean);
}

export interface CompareAndSetRequest__Output {
  'key': (string);
  'expected': (_ringcache_v1_Version__Output | null);
  'value': (Buffer);
  'flags': (_ringcache_v1_ValueFlags__Output);
  'ttlMs': (number);
  'consistency': (_ringcache_v1_Consistency__Output);
  'requestId': (string);
  'keepTtl': (boolean);
}
