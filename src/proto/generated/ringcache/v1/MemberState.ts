// Original file: proto/ringcache/v1/cluster.proto

export const MemberState = {
  MEMBER_STATE_UNSPECIFIED: 0,
  MEMBER_STATE_ALIVE: 1,
  MEMBER_STATE_SUSPECT: 2,
  MEMBER_STATE_DEAD: 3,
  MEMBER_STATE_LEFT: 4,
} as const;

export type MemberState =
  | 'MEMBER_STATE_UNSPECIFIED'
  | 0
  | 'MEMBER_STATE_ALIVE'
  | 1
  | 'MEMBER_STATE_SUSPECT'
  | 2
  | 'MEMBER_STATE_DEAD'
  | 3
  | 'MEMBER_STATE_LEFT'
  | 4

export type MemberState__Output = typeof MemberState[keyof typeof MemberState]
