// Original file: proto/ringcache/v1/cluster.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ExplainRequest as _ringcache_v1_ExplainRequest, ExplainRequest__Output as _ringcache_v1_ExplainRequest__Output } from '../../ringcache/v1/ExplainRequest';
import type { ExplainResponse as _ringcache_v1_ExplainResponse, ExplainResponse__Output as _ringcache_v1_ExplainResponse__Output } from '../../ringcache/v1/ExplainResponse';
import type { FlushRequest as _ringcache_v1_FlushRequest, FlushRequest__Output as _ringcache_v1_FlushRequest__Output } from '../../ringcache/v1/FlushRequest';
import type { FlushResponse as _ringcache_v1_FlushResponse, FlushResponse__Output as _ringcache_v1_FlushResponse__Output } from '../../ringcache/v1/FlushResponse';
import type { JoinRequest as _ringcache_v1_JoinRequest, JoinRequest__Output as _ringcache_v1_JoinRequest__Output } from '../../ringcache/v1/JoinRequest';
import type { LeaveRequest as _ringcache_v1_LeaveRequest, LeaveRequest__Output as _ringcache_v1_LeaveRequest__Output } from '../../ringcache/v1/LeaveRequest';
import type { StatsRequest as _ringcache_v1_StatsRequest, StatsRequest__Output as _ringcache_v1_StatsRequest__Output } from '../../ringcache/v1/StatsRequest';
import type { StatsResponse as _ringcache_v1_StatsResponse, StatsResponse__Output as _ringcache_v1_StatsResponse__Output } from '../../ringcache/v1/StatsResponse';
import type { TopologyRequest as _ringcache_v1_TopologyRequest, TopologyRequest__Output as _ringcache_v1_TopologyRequest__Output } from '../../ringcache/v1/TopologyRequest';
import type { TopologyResponse as _ringcache_v1_TopologyResponse, TopologyResponse__Output as _ringcache_v1_TopologyResponse__Output } from '../../ringcache/v1/TopologyResponse';

export interface ClusterClient extends grpc.Client {
  Explain(argument: _ringcache_v1_ExplainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  Explain(argument: _ringcache_v1_ExplainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  Explain(argument: _ringcache_v1_ExplainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  Explain(argument: _ringcache_v1_ExplainRequest, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  explain(argument: _ringcache_v1_ExplainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  explain(argument: _ringcache_v1_ExplainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  explain(argument: _ringcache_v1_ExplainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  explain(argument: _ringcache_v1_ExplainRequest, callback: grpc.requestCallback<_ringcache_v1_ExplainResponse__Output>): grpc.ClientUnaryCall;
  
  Flush(argument: _ringcache_v1_FlushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_FlushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_FlushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_FlushRequest, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_FlushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_FlushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_FlushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_FlushRequest, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  
  Join(argument: _ringcache_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _ringcache_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _ringcache_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _ringcache_v1_JoinRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _ringcache_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _ringcache_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _ringcache_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _ringcache_v1_JoinRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  
  Leave(argument: _ringcache_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _ringcache_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _ringcache_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _ringcache_v1_LeaveRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _ringcache_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _ringcache_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _ringcache_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _ringcache_v1_LeaveRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  
  Stats(argument: _ringcache_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _ringcache_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _ringcache_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _ringcache_v1_StatsRequest, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _ringcache_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _ringcache_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _ringcache_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _ringcache_v1_StatsRequest, callback: grpc.requestCallback<_ringcache_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  
  Topology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Topology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Topology(argument: _ringcache_v1_TopologyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  Topology(argument: _ringcache_v1_TopologyRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  topology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  topology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  topology(argument: _ringcache_v1_TopologyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  topology(argument: _ringcache_v1_TopologyRequest, callback: grpc.requestCallback<_ringcache_v1_TopologyResponse__Output>): grpc.ClientUnaryCall;
  
  WatchTopology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_TopologyResponse__Output>;
  WatchTopology(argument: _ringcache_v1_TopologyRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_TopologyResponse__Output>;
  watchTopology(argument: _ringcache_v1_TopologyRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_TopologyResponse__Output>;
  watchTopology(argument: _ringcache_v1_TopologyRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_TopologyResponse__Output>;
  
}

export interface ClusterHandlers extends grpc.UntypedServiceImplementation {
  Explain: grpc.handleUnaryCall<_ringcache_v1_ExplainRequest__Output, _ringcache_v1_ExplainResponse>;
  
  Flush: grpc.handleUnaryCall<_ringcache_v1_FlushRequest__Output, _ringcache_v1_FlushResponse>;
  
  Join: grpc.handleUnaryCall<_ringcache_v1_JoinRequest__Output, _ringcache_v1_TopologyResponse>;
  
  Leave: grpc.handleUnaryCall<_ringcache_v1_LeaveRequest__Output, _ringcache_v1_TopologyResponse>;
  
  Stats: grpc.handleUnaryCall<_ringcache_v1_StatsRequest__Output, _ringcache_v1_StatsResponse>;
  
  Topology: grpc.handleUnaryCall<_ringcache_v1_TopologyRequest__Output, _ringcache_v1_TopologyResponse>;
  
  WatchTopology: grpc.handleServerStreamingCall<_ringcache_v1_TopologyRequest__Output, _ringcache_v1_TopologyResponse>;
  
}

export interface ClusterDefinition extends grpc.ServiceDefinition {
  Explain: MethodDefinition<_ringcache_v1_ExplainRequest, _ringcache_v1_ExplainResponse, _ringcache_v1_ExplainRequest__Output, _ringcache_v1_ExplainResponse__Output>
  Flush: MethodDefinition<_ringcache_v1_FlushRequest, _ringcache_v1_FlushResponse, _ringcache_v1_FlushRequest__Output, _ringcache_v1_FlushResponse__Output>
  Join: MethodDefinition<_ringcache_v1_JoinRequest, _ringcache_v1_TopologyResponse, _ringcache_v1_JoinRequest__Output, _ringcache_v1_TopologyResponse__Output>
  Leave: MethodDefinition<_ringcache_v1_LeaveRequest, _ringcache_v1_TopologyResponse, _ringcache_v1_LeaveRequest__Output, _ringcache_v1_TopologyResponse__Output>
  Stats: MethodDefinition<_ringcache_v1_StatsRequest, _ringcache_v1_StatsResponse, _ringcache_v1_StatsRequest__Output, _ringcache_v1_StatsResponse__Output>
  Topology: MethodDefinition<_ringcache_v1_TopologyRequest, _ringcache_v1_TopologyResponse, _ringcache_v1_TopologyRequest__Output, _ringcache_v1_TopologyResponse__Output>
  WatchTopology: MethodDefinition<_ringcache_v1_TopologyRequest, _ringcache_v1_TopologyResponse, _ringcache_v1_TopologyRequest__Output, _ringcache_v1_TopologyResponse__Output>
}
