// Original file: proto/ringcache/v1/cache.proto

import type { ValueFlags as _ringcache_v1_ValueFlags, ValueFlags__Output as _ringcache_v1_ValueFlags__Output } from '../../ringcache/v1/ValueFlags';
import type { SetMode as _ringcache_v1_SetMode, SetMode__Output as _ringcache_v1_SetMode__Output } from '../../ringcache/v1/SetMode';
import type { Consistency as _ringcache_v1_Consistency, Consistency__Output as _ringcache_v1_Consistency__Output } from '../../ringcache/v1/Consistency';
import type { Long } from '@grpc/proto-loader';

export interface SetRequest {
  'key'?: (string);
  'value'?: (Buffer | Uint8Array | string);
  'flags'?: (_ringcache_v1_ValueFlags);
  'ttlMs'?: (number | string | Long);
  'mode'?: (_ringcache_v1_SetMode);
  'consistency'?: (_ringcache_v1_Consistency);
  'text'?: (string);
  'requestId'?: (string);
  'keepTtl'?: (boolean);
}

export interface SetRequest__Output {
  'key': (string);
  'value': (Buffer);
  'flags': (_ringcache_v1_ValueFlags__Output);
  'ttlMs': (number);
  'mode': (_ringcache_v1_SetMode__Output);
  'consistency': (_ringcache_v1_Consistency__Output);
  'text': (string);
  'requestId': (string);
  'keepTtl': (boolean);
}
