// Original file: proto/ringcache/v1/types.proto

export const ValueFlags = {
  VALUE_FLAGS_RAW: 0,
  VALUE_FLAGS_UTF8: 1,
  VALUE_FLAGS_MSGPACK: 2,
} as const;

export type ValueFlags =
  | 'VALUE_FLAGS_RAW'
  | 0
  | 'VALUE_FLAGS_UTF8'
  | 1
  | 'VALUE_FLAGS_MSGPACK'
  | 2

export type ValueFlags__Output = typeof ValueFlags[keyof typeof ValueFlags]
