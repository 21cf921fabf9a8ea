import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ClusterClient as _ringcache_v1_ClusterClient, ClusterDefinition as _ringcache_v1_ClusterDefinition } from './ringcache/v1/Cluster';
import type { ExplainRequest as _ringcache_v1_ExplainRequest, ExplainRequest__Output as _ringcache_v1_ExplainRequest__Output } from './ringcache/v1/ExplainRequest';
import type { ExplainResponse as _ringcache_v1_ExplainResponse, ExplainResponse__Output as _ringcache_v1_ExplainResponse__Output } from './ringcache/v1/ExplainResponse';
import type { FlushRequest as _ringcache_v1_FlushRequest, FlushRequest__Output as _ringcache_v1_FlushRequest__Output } from './ringcache/v1/FlushRequest';
import type { FlushResponse as _ringcache_v1_FlushResponse, FlushResponse__Output as _ringcache_v1_FlushResponse__Output } from './ringcache/v1/FlushResponse';
import type { HotKey as _ringcache_v1_HotKey, HotKey__Output as _ringcache_v1_HotKey__Output } from './ringcache/v1/HotKey';
import type { JoinRequest as _ringcache_v1_JoinRequest, JoinRequest__Output as _ringcache_v1_JoinRequest__Output } from './ringcache/v1/JoinRequest';
import type { LeaveRequest as _ringcache_v1_LeaveRequest, LeaveRequest__Output as _ringcache_v1_LeaveRequest__Output } from './ringcache/v1/LeaveRequest';
import type { Member as _ringcache_v1_Member, Member__Output as _ringcache_v1_Member__Output } from './ringcache/v1/Member';
import type { MemberUpdate as _ringcache_v1_MemberUpdate, MemberUpdate__Output as _ringcache_v1_MemberUpdate__Output } from './ringcache/v1/MemberUpdate';
import type { OwedRing as _ringcache_v1_OwedRing, OwedRing__Output as _ringcache_v1_OwedRing__Output } from './ringcache/v1/OwedRing';
import type { PackedFrame as _ringcache_v1_PackedFrame, PackedFrame__Output as _ringcache_v1_PackedFrame__Output } from './ringcache/v1/PackedFrame';
import type { PeerClient as _ringcache_v1_PeerClient, PeerDefinition as _ringcache_v1_PeerDefinition } from './ringcache/v1/Peer';
import type { PeerFlushRequest as _ringcache_v1_PeerFlushRequest, PeerFlushRequest__Output as _ringcache_v1_PeerFlushRequest__Output } from './ringcache/v1/PeerFlushRequest';
import type { PingReqRequest as _ringcache_v1_PingReqRequest, PingReqRequest__Output as _ringcache_v1_PingReqRequest__Output } from './ringcache/v1/PingReqRequest';
import type { PingRequest as _ringcache_v1_PingRequest, PingRequest__Output as _ringcache_v1_PingRequest__Output } from './ringcache/v1/PingRequest';
import type { PingResponse as _ringcache_v1_PingResponse, PingResponse__Output as _ringcache_v1_PingResponse__Output } from './ringcache/v1/PingResponse';
import type { Record as _ringcache_v1_Record, Record__Output as _ringcache_v1_Record__Output } from './ringcache/v1/Record';
import type { ReplicaCopy as _ringcache_v1_ReplicaCopy, ReplicaCopy__Output as _ringcache_v1_ReplicaCopy__Output } from './ringcache/v1/ReplicaCopy';
import type { Replication as _ringcache_v1_Replication, Replication__Output as _ringcache_v1_Replication__Output } from './ringcache/v1/Replication';
import type { RingDeparture as _ringcache_v1_RingDeparture, RingDeparture__Output as _ringcache_v1_RingDeparture__Output } from './ringcache/v1/RingDeparture';
import type { RingState as _ringcache_v1_RingState, RingState__Output as _ringcache_v1_RingState__Output } from './ringcache/v1/RingState';
import type { StatsRequest as _ringcache_v1_StatsRequest, StatsRequest__Output as _ringcache_v1_StatsRequest__Output } from './ringcache/v1/StatsRequest';
import type { StatsResponse as _ringcache_v1_StatsResponse, StatsResponse__Output as _ringcache_v1_StatsResponse__Output } from './ringcache/v1/StatsResponse';
import type { SyncRequest as _ringcache_v1_SyncRequest, SyncRequest__Output as _ringcache_v1_SyncRequest__Output } from './ringcache/v1/SyncRequest';
import type { SyncResponse as _ringcache_v1_SyncResponse, SyncResponse__Output as _ringcache_v1_SyncResponse__Output } from './ringcache/v1/SyncResponse';
import type { TopologyRequest as _ringcache_v1_TopologyRequest, TopologyRequest__Output as _ringcache_v1_TopologyRequest__Output } from './ringcache/v1/TopologyRequest';
import type { TopologyResponse as _ringcache_v1_TopologyResponse, TopologyResponse__Output as _ringcache_v1_TopologyResponse__Output } from './ringcache/v1/TopologyResponse';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from './ringcache/v1/Version';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ringcache: {
    v1: {
      Cluster: SubtypeConstructor<typeof grpc.Client, _ringcache_v1_ClusterClient> & { service: _ringcache_v1_ClusterDefinition }
      Consistency: EnumTypeDefinition
      ExplainRequest: MessageTypeDefinition<_ringcache_v1_ExplainRequest, _ringcache_v1_ExplainRequest__Output>
      ExplainResponse: MessageTypeDefinition<_ringcache_v1_ExplainResponse, _ringcache_v1_ExplainResponse__Output>
      FlushRequest: MessageTypeDefinition<_ringcache_v1_FlushRequest, _ringcache_v1_FlushRequest__Output>
      FlushResponse: MessageTypeDefinition<_ringcache_v1_FlushResponse, _ringcache_v1_FlushResponse__Output>
      HotKey: MessageTypeDefinition<_ringcache_v1_HotKey, _ringcache_v1_HotKey__Output>
      JoinRequest: MessageTypeDefinition<_ringcache_v1_JoinRequest, _ringcache_v1_JoinRequest__Output>
      LeaveRequest: MessageTypeDefinition<_ringcache_v1_LeaveRequest, _ringcache_v1_LeaveRequest__Output>
      Member: MessageTypeDefinition<_ringcache_v1_Member, _ringcache_v1_Member__Output>
      MemberState: EnumTypeDefinition
      MemberUpdate: MessageTypeDefinition<_ringcache_v1_MemberUpdate, _ringcache_v1_MemberUpdate__Output>
      OwedRing: MessageTypeDefinition<_ringcache_v1_OwedRing, _ringcache_v1_OwedRing__Output>
      PackedFrame: MessageTypeDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>
      Peer: SubtypeConstructor<typeof grpc.Client, _ringcache_v1_PeerClient> & { service: _ringcache_v1_PeerDefinition }
      PeerFlushRequest: MessageTypeDefinition<_ringcache_v1_PeerFlushRequest, _ringcache_v1_PeerFlushRequest__Output>
      PingReqRequest: MessageTypeDefinition<_ringcache_v1_PingReqRequest, _ringcache_v1_PingReqRequest__Output>
      PingRequest: MessageTypeDefinition<_ringcache_v1_PingRequest, _ringcache_v1_PingRequest__Output>
      PingResponse: MessageTypeDefinition<_ringcache_v1_PingResponse, _ringcache_v1_PingResponse__Output>
      Record: MessageTypeDefinition<_ringcache_v1_Record, _ringcache_v1_Record__Output>
      ReplicaCopy: MessageTypeDefinition<_ringcache_v1_ReplicaCopy, _ringcache_v1_ReplicaCopy__Output>
      Replication: MessageTypeDefinition<_ringcache_v1_Replication, _ringcache_v1_Replication__Output>
      RingDeparture: MessageTypeDefinition<_ringcache_v1_RingDeparture, _ringcache_v1_RingDeparture__Output>
      RingState: MessageTypeDefinition<_ringcache_v1_RingState, _ringcache_v1_RingState__Output>
      SetMode: EnumTypeDefinition
      StatsRequest: MessageTypeDefinition<_ringcache_v1_StatsRequest, _ringcache_v1_StatsRequest__Output>
      StatsResponse: MessageTypeDefinition<_ringcache_v1_StatsResponse, _ringcache_v1_StatsResponse__Output>
      SyncRequest: MessageTypeDefinition<_ringcache_v1_SyncRequest, _ringcache_v1_SyncRequest__Output>
      SyncResponse: MessageTypeDefinition<_ringcache_v1_SyncResponse, _ringcache_v1_SyncResponse__Output>
      TopologyRequest: MessageTypeDefinition<_ringcache_v1_TopologyRequest, _ringcache_v1_TopologyRequest__Output>
      TopologyResponse: MessageTypeDefinition<_ringcache_v1_TopologyResponse, _ringcache_v1_TopologyResponse__Output>
      ValueFlags: EnumTypeDefinition
      Version: MessageTypeDefinition<_ringcache_v1_Version, _ringcache_v1_Version__Output>
    }
  }
}

