/**
 * TypeScript shapes of the ringcache.v1 messages as @grpc/proto-loader decodes them with LOADER_OPTIONS
 * (camelCase, longs and enums as numbers, defaults filled, oneof name set). Outgoing messages may omit
 * fields (proto3 defaults), hence the `Partial`s at the edges.
 */

export const ValueFlags = { RAW: 0, UTF8: 1, MSGPACK: 2 } as const;
export type ValueFlagsValue = (typeof ValueFlags)[keyof typeof ValueFlags];

export const SetModeWire = { ALWAYS: 0, IF_ABSENT: 1, IF_PRESENT: 2 } as const;
export const ConsistencyWire = { DEFAULT: 0, ONE: 1, QUORUM: 2, ALL: 3 } as const;
export type ConsistencyValue = (typeof ConsistencyWire)[keyof typeof ConsistencyWire];

export const MemberStateWire = { UNSPECIFIED: 0, ALIVE: 1, SUSPECT: 2, DEAD: 3, LEFT: 4 } as const;

export interface VersionMsg {
  timestamp: number;
  node: string;
}

export interface GetRequestMsg {
  key: string;
  consistency: number;
}
export interface GetResponseMsg {
  found: boolean;
  value: Buffer;
  flags: number;
  version: VersionMsg | null;
  ttlMs: number;
  text?: string;
}
export interface SetRequestMsg {
  key: string;
  value: Buffer;
  flags: number;
  ttlMs: number;
  mode: number;
  consistency: number;
  text?: string;
  requestId?: string;
  keepTtl?: boolean;
}
export interface SetResponseMsg {
  stored: boolean;
  version: VersionMsg | null;
}
export interface DeleteRequestMsg {
  key: string;
  consistency: number;
}
export interface DeleteResponseMsg {
  deleted: boolean;
  version?: VersionMsg | null;
}
export interface TouchRequestMsg {
  key: string;
  ttlMs: number;
  consistency: number;
  requestId?: string;
}
export interface TouchResponseMsg {
  found: boolean;
}
export interface IncrementRequestMsg {
  key: string;
  delta: number;
  initial: number;
  ttlMs: number;
  consistency: number;
  requestId?: string;
}
export interface IncrementResponseMsg {
  value: number;
  version: VersionMsg | null;
}
export interface CompareAndSetRequestMsg {
  key: string;
  expected: VersionMsg | null;
  value: Buffer;
  flags: number;
  ttlMs: number;
  consistency: number;
  requestId?: string;
  keepTtl?: boolean;
}
export interface CompareAndSetResponseMsg {
  version: VersionMsg | null;
}

/** Operation kinds, named as the `op` oneof of Operation. */
export interface OpRequests {
  get: GetRequestMsg;
  set: SetRequestMsg;
  delete: DeleteRequestMsg;
  touch: TouchRequestMsg;
  increment: IncrementRequestMsg;
  compareAndSet: CompareAndSetRequestMsg;
}
export interface OpResponses {
  get: GetResponseMsg;
  set: SetResponseMsg;
  delete: DeleteResponseMsg;
  touch: TouchResponseMsg;
  increment: IncrementResponseMsg;
  compareAndSet: CompareAndSetResponseMsg;
}
export type OpKind = keyof OpRequests;

/** One operation of a Pipeline frame: `op` names the kind and the field of that name holds the request. */
export type OperationMsg = {
  [K in OpKind]: {
    id: number;
    op: K;
    /** The receiving node's clock (Unix ms) past which this write is refused; 0 or absent: none. */
    notAfterMs?: number;
  } & { [F in K]: OpRequests[K] };
}[OpKind];

export type OperationResultMsg = {
  id: number;
  code: number;
  message: string;
  /** Our stable error code name (ErrorCode) when code is not OK; may be empty. */
  error?: string;
  result?: OpKind;
} & { [K in OpKind]?: OpResponses[K] | null };

export interface PipelineRequestMsg {
  ops: OperationMsg[];
  frameId: number;
  timeoutMs?: number;
}
export interface PipelineResponseMsg {
  results: OperationResultMsg[];
  frameId: number;
  epoch: number;
}

export interface GetManyRequestMsg {
  keys: string[];
  consistency: number;
}
export interface GetManyResponseMsg {
  results: GetResponseMsg[];
}
export interface SetManyRequestMsg {
  items: SetRequestMsg[];
}
export interface SetManyResponseMsg {
  results: OperationResultMsg[];
}

// Cluster service
export interface MemberMsg {
  id: string;
  address: string;
  httpAddress: string;
  state: number;
  incarnation: number;
  sinceEpoch: number;
}
export interface WatchEventMsg {
  sequence: number;
  key: string;
  kind: number;
  version: VersionMsg | null;
  node: string;
}
export const ChangeKindWire = { UNSPECIFIED: 0, SET: 1, DELETE: 2, TOUCH: 3 } as const;
export interface FlushRequestMsg {
  prefix: string;
  confirm: boolean;
}
export interface FlushResponseMsg {
  keysDeleted: number;
  nodes: string[];
}
/** Peer/Flush: Cluster/Flush's request (fields 1, 2), with the fence (cluster/flush.ts). */
export interface PeerFlushRequestMsg extends FlushRequestMsg {
  fence: number;
}
export interface RingDepartureMsg {
  id: string;
  epoch: number;
}
export interface TopologyResponseMsg {
  clusterName: string;
  epoch: number;
  members: MemberMsg[];
  vnodes: number;
  hashAlgorithm: string;
  replication: { factor: number; writeQuorum: number; readQuorum: number } | null;
  answeredBy: string;
  catchingUp: boolean;
  departed: RingDepartureMsg[];
}
export interface StatsResponseMsg {
  nodeId: string;
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  keys: number;
  bytes: number;
  maxBytes: number;
  tombstones: number;
  hintsPending: number;
  epoch: number;
  hotReads: HotKeyMsg[];
  hotWrites: HotKeyMsg[];
  /** Cache calls answered since the node started. */
  requests: number;
  /** Calls per bucket of requestDurationBoundsSeconds, then those above the last bound. */
  requestDurationCounts: number[];
  requestDurationBoundsSeconds: number[];
  rssBytes: number;
}
export interface HotKeyMsg {
  key: string;
  count: number;
  error: number;
}

export interface ReplicaCopyMsg {
  nodeId: string;
  address: string;
  state: number;
  holds: boolean;
  version: VersionMsg | null;
  tombstone: boolean;
  expiresAtMs: number;
  error: string;
}
export interface ExplainResponseMsg {
  key: string;
  ringPosition: number;
  epoch: number;
  replicas: ReplicaCopyMsg[];
  answeredBy: string;
}

// Peer service
export interface RecordMsg {
  key: string;
  value: Buffer;
  flags: number;
  version: VersionMsg | null;
  expiresAtMs: number;
  tombstone: boolean;
  hintFor: string;
}
export interface ReadResultMsg {
  found: boolean;
  record: RecordMsg | null;
}
export interface SyncRequestMsg {
  forNode: string;
  ring?: RingStateMsg | null;
}
export interface SyncResponseMsg {
  records: RecordMsg[];
  /** Packed [key, request id, outcome, ...] (peer.proto); absent or empty when none. */
  requests?: Buffer;
  /** The sender's debt (SyncDebt), in the stream's last message; empty elsewhere and from older releases. */
  owedPeers?: string[];
  owedRings?: { nodeIds: string[] }[];
}
export interface MemberUpdateMsg {
  id: string;
  state: number;
  incarnation: number;
}
export interface PingRequestMsg {
  from: string;
  updates: MemberUpdateMsg[];
  ringEpoch?: number;
  clock?: number;
  ringDigest?: number;
  /** On Peer.Gossip: the sender's number for this probe, which the answer carries back. */
  probeId?: number;
}
export interface PingResponseMsg {
  from: string;
  updates: MemberUpdateMsg[];
  ack: boolean;
  ringEpoch?: number;
  clock?: number;
  ringDigest?: number;
  wallClockMs?: number;
  /** On Peer.Gossip: the probeId of the PingRequest answered. */
  probeId?: number;
}
export interface RingStateMsg {
  epoch: number;
  members: MemberMsg[];
  departed: RingDepartureMsg[];
}
export interface JoinRequestMsg {
  id: string;
  address: string;
  httpAddress: string;
}
export interface PingReqRequestMsg {
  from: string;
  target: string;
  updates: MemberUpdateMsg[];
}

/** google.rpc.Code values used in OperationResult.code (same numbers as grpc-js `status`). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** Metadata keys shared by nodes and the SDK. */
export const METADATA = {
  /** Trailing metadata on unary Cache calls: the answering node's ring epoch. */
  epoch: 'x-ringcache-epoch',
  /** Set by a node that forwards a call to the key's coordinator: the receiver must serve it, never forward again. */
  forwardedBy: 'x-ringcache-forwarded-by',
  /** Trailing metadata on failed unary calls: our stable error code name (e.g. KEY_TOO_LARGE). */
  errorCode: 'x-ringcache-error',
  /** The cluster token (RINGCACHE_CLUSTER_TOKEN), on node-to-node and membership calls when one is set. */
  clusterToken: 'x-ringcache-cluster-token',
  /**
   * The wire version a side speaks and the oldest it reads (src/transport/wire-version.ts), sent by
   * clients and nodes on every call and by nodes in every answer's headers; absent means version 1.
   */
  wireVersion: 'x-ringcache-wire',
  wireMinVersion: 'x-ringcache-wire-min',
} as const;
