// Original file: proto/ringcache/v1/types.proto

export const Consistency = {
  CONSISTENCY_DEFAULT: 0,
  CONSISTENCY_ONE: 1,
  CONSISTENCY_QUORUM: 2,
  CONSISTENCY_ALL: 3,
} as const;

export type Consistency =
  | 'CONSISTENCY_DEFAULT'
  | 0
  | 'CONSISTENCY_ONE'
  | 1
  | 'CONSISTENCY_QUORUM'
  | 2
  | 'CONSISTENCY_ALL'
  | 3

export type Consistency__Output = typeof Consistency[keyof typeof Consistency]
