// Original file: proto/ringcache/v1/cache.proto

export const ChangeKind = {
  CHANGE_KIND_UNSPECIFIED: 0,
  CHANGE_KIND_SET: 1,
  CHANGE_KIND_DELETE: 2,
  CHANGE_KIND_TOUCH: 3,
} as const;

export type ChangeKind =
  | 'CHANGE_KIND_UNSPECIFIED'
  | 0
  | 'CHANGE_KIND_SET'
  | 1
  | 'CHANGE_KIND_DELETE'
  | 2
  | 'CHANGE_KIND_TOUCH'
  | 3

export type ChangeKind__Output = typeof ChangeKind[keyof typeof ChangeKind]
