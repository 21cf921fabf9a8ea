// Original file: proto/ringcache/v1/peer.proto

import type { ValueFlags as _ringcache_v1_ValueFlags, ValueFlags__Output as _ringcache_v1_ValueFlags__Output } from '../../ringcache/v1/ValueFlags';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from '../../ringcache/v1/Version';
import type { Long } from '@grpc/proto-loader';

export interface Record {
  'key'?: (string);
  'value'?: (Buffer | Uint8Array | string);
  'flags'?: (_ringcache_v1_ValueFlags);
  'version'?: (_ringcache_v1_Version | null);
  'expiresAtMs'?: (number | string | Long);
  'tombstone'?: (boolean);
  'hintFor'?: (string);
}

export interface Record__Output {
  'key': (string);
  'value': (Buffer);
  'flags': (_ringcache_v1_ValueFlags__Output);
  'version': (_ringcache_v1_Version__Output | null);
  'expiresAtMs': (number);
  'tombstone': (boolean);
  'hintFor': (string);
}
