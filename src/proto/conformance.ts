import type * as M from './messages';
import type { CompareAndSetRequest__Output } from './generated/ringcache/v1/CompareAndSetRequest';
import type { CompareAndSetResponse } from './generated/ringcache/v1/CompareAndSetResponse';
import type { DeleteRequest__Output } from './generated/ringcache/v1/DeleteRequest';
import type { DeleteResponse } from './generated/ringcache/v1/DeleteResponse';
import type { GetManyRequest__Output } from './generated/ringcache/v1/GetManyRequest';
import type { GetRequest__Output } from './generated/ringcache/v1/GetRequest';
import type { GetResponse } from './generated/ringcache/v1/GetResponse';
import type { IncrementRequest__Output } from './generated/ringcache/v1/IncrementRequest';
import type { IncrementResponse } from './generated/ringcache/v1/IncrementResponse';
import type { JoinRequest__Output } from './generated/ringcache/v1/JoinRequest';
import type { Member } from './generated/ringcache/v1/Member';
import type { MemberUpdate, MemberUpdate__Output } from './generated/ringcache/v1/MemberUpdate';
import type { OperationResult } from './generated/ringcache/v1/OperationResult';
import type { PingReqRequest__Output } from './generated/ringcache/v1/PingReqRequest';
import type { PingRequest__Output } from './generated/ringcache/v1/PingRequest';
import type { PingResponse, PingResponse__Output } from './generated/ringcache/v1/PingResponse';
import type { PipelineResponse } from './generated/ringcache/v1/PipelineResponse';
import type { Record, Record__Output } from './generated/ringcache/v1/Record';
import type { RingState, RingState__Output } from './generated/ringcache/v1/RingState';
import type { SetManyRequest__Output } from './generated/ringcache/v1/SetManyRequest';
import type { SetRequest__Output } from './generated/ringcache/v1/SetRequest';
import type { SetResponse } from './generated/ringcache/v1/SetResponse';
import type { StatsResponse } from './generated/ringcache/v1/StatsResponse';
import type { ExplainResponse } from './generated/ringcache/v1/ExplainResponse';
import type { SyncRequest__Output } from './generated/ringcache/v1/SyncRequest';
import type { SyncResponse, SyncResponse__Output } from './generated/ringcache/v1/SyncResponse';
import type { TopologyResponse } from './generated/ringcache/v1/TopologyResponse';
import type { TouchRequest__Output } from './generated/ringcache/v1/TouchRequest';
import type { TouchResponse } from './generated/ringcache/v1/TouchResponse';
import type { VersionMsg } from './messages';
import type { Version__Output } from './generated/ringcache/v1/Version';

/**
 * The hand-written message shapes of messages.ts, checked at compile time against the types
 * proto-loader-gen-types makes from proto/ (src/proto/generated, `npm run proto:types`): what the
 * loader decodes (X__Output) must read as our shape, and what we send must be a valid X. A field
 * renamed, retyped or dropped in a .proto fails the build here. messages.ts keeps its own shapes
 * where they say more: Operation's oneof as a discriminated union, enums as plain numbers.
 */
type Reads<Ours, Decoded extends Ours> = [Ours, Decoded];
type Sends<Ours extends Numeric<Wire>, Wire> = [Ours, Wire];
/** The generated input types spell enums as names or numbers; ours always send numbers. */
type Numeric<T> = T extends Buffer
  ? T
  : T extends readonly (infer E)[]
    ? Numeric<E>[]
    : T extends object
      ? { [K in keyof T]: Numeric<T[K]> }
      : [Extract<T, number>] extends [never]
        ? T
        : T | number;

export type MessageConformance = [
  Reads<VersionMsg, Version__Output>,
  Reads<M.GetRequestMsg, GetRequest__Output>,
  Reads<Omit<M.SetRequestMsg, 'text'>, SetRequest__Output>,
  Reads<M.DeleteRequestMsg, DeleteRequest__Output>,
  Reads<M.TouchRequestMsg, TouchRequest__Output>,
  Reads<M.IncrementRequestMsg, IncrementRequest__Output>,
  Reads<M.CompareAndSetRequestMsg, CompareAndSetRequest__Output>,
  Reads<M.GetManyRequestMsg, GetManyRequest__Output>,
  Reads<Omit<M.SetManyRequestMsg, 'items'>, SetManyRequest__Output>,
  Reads<M.JoinRequestMsg, JoinRequest__Output>,
  Reads<M.RecordMsg, Record__Output>,
  Reads<M.SyncRequestMsg, SyncRequest__Output>,
  Reads<M.SyncResponseMsg, SyncResponse__Output>,
  Reads<M.MemberUpdateMsg, MemberUpdate__Output>,
  Reads<M.PingRequestMsg, PingRequest__Output>,
  Reads<M.PingReqRequestMsg, PingReqRequest__Output>,
  Reads<M.PingResponseMsg, PingResponse__Output>,
  Reads<M.RingStateMsg, RingState__Output>,
  Sends<M.GetResponseMsg, GetResponse>,
  Sends<M.SetResponseMsg, SetResponse>,
  Sends<M.DeleteResponseMsg, DeleteResponse>,
  Sends<M.TouchResponseMsg, TouchResponse>,
  Sends<M.IncrementResponseMsg, IncrementResponse>,
  Sends<M.CompareAndSetResponseMsg, CompareAndSetResponse>,
  Sends<M.OperationResultMsg, OperationResult>,
  Sends<M.PipelineResponseMsg, PipelineResponse>,
  Sends<M.MemberMsg, Member>,
  Sends<M.TopologyResponseMsg, TopologyResponse>,
  Sends<M.StatsResponseMsg, StatsResponse>,
  Sends<M.ExplainResponseMsg, ExplainResponse>,
  Sends<M.RecordMsg, Record>,
  Sends<M.SyncResponseMsg, SyncResponse>,
  Sends<M.MemberUpdateMsg, MemberUpdate>,
  Sends<M.PingResponseMsg, PingResponse>,
  Sends<M.RingStateMsg, RingState>,
];
