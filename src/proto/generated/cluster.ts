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
import type { PackedFrame as _ringcache_v1_PackedFrame, PackedFrame__Output as _ringcache_v1_PackedFrame__Output } from './ringcache/v1/PackedFrame';
import type { ReplicaCopy as _ringcache_v1_ReplicaCopy, ReplicaCopy__Output as _ringcache_v1_ReplicaCopy__Output } from './ringcache/v1/ReplicaCopy';
import type { Replication as _ringcache_v1_Replication, Replication__Output as _ringcache_v1_Replication__Output } from './ringcache/v1/Replication';
import type { RingDeparture as _ringcache_v1_RingDeparture, RingDeparture__Output as _ringcache_v1_RingDeparture__Output } from './ringcache/v1/RingDeparture';
import type { StatsRequest as _ringcache_v1_StatsRequest, StatsRequest__Output as _ringcache_v1_StatsRequest__Output } from './ringcache/v1/StatsRequest';
import type { StatsResponse as _ringcache_v1_StatsResponse, StatsResponse__Output as _ringcache_v1_StatsResponse__Output } from './ringcache/v1/StatsResponse';
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
      PackedFrame: MessageTypeDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>
      ReplicaCopy: MessageTypeDefinition<_ringcache_v1_ReplicaCopy, _ringcache_v1_ReplicaCopy__Output>
      Replication: MessageTypeDefinition<_ringcache_v1_Replication, _ringcache_v1_Replication__Output>
      RingDeparture: MessageTypeDefinition<_ringcache_v1_RingDeparture, _ringcache_v1_RingDeparture__Output>
      SetMode: EnumTypeDefinition
      StatsRequest: MessageTypeDefinition<_ringcache_v1_StatsRequest, _ringcache_v1_StatsRequest__Output>
      StatsResponse: MessageTypeDefinition<_ringcache_v1_StatsResponse, _ringcache_v1_StatsResponse__Output>
      TopologyRequest: MessageTypeDefinition<_ringcache_v1_TopologyRequest, _ringcache_v1_TopologyRequest__Output>
      TopologyResponse: MessageTypeDefinition<_ringcache_v1_TopologyResponse, _ringcache_v1_TopologyResponse__Output>
      ValueFlags: EnumTypeDefinition
      Version: MessageTypeDefinition<_ringcache_v1_Version, _ringcache_v1_Version__Output>
    }
  }
}

