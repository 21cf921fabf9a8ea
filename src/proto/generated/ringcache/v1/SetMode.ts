// Original file: proto/ringcache/v1/types.proto

export const SetMode = {
  SET_MODE_ALWAYS: 0,
  SET_MODE_IF_ABSENT: 1,
  SET_MODE_IF_PRESENT: 2,
} as const;

export type SetMode =
  | 'SET_MODE_ALWAYS'
  | 0
  | 'SET_MODE_IF_ABSENT'
  | 1
  | 'SET_MODE_IF_PRESENT'
  | 2

export type SetMode__Output = typeof SetMode[keyof typeof SetMode]
