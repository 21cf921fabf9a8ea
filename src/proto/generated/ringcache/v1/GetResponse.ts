// Original file: proto/ringcache/v1/cache.proto

import type { ValueFlags as _ringcache_v1_ValueFlags, ValueFlags__Output as _ringcache_v1_ValueFlags__Output } from '../../ringcache/v1/ValueFlags';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { Long } from '@grpc/proto-loader';

export interface GetResponse {
  'found'?: (boolean);
  'value'?: (Buffer | Uint8Array | string);
  'flags'?: (_ringcache_v1_ValueFlags);
  'version'?: (_ringcache_v1_Version | null);
  'ttlMs'?: (number | string | Long);
  'text'?: (string);
}

export interface GetResponse__Output {
  'found': (boolean);
  'value': (Buffer);
  'flags': (_ringcache_v1_ValueFlags__Output);
  'version': (_ringcache_v1_Version__Output | null);
  'ttlMs': (number);
  'text': (string);
}
