// Original file: proto/ringcache/v1/peer.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { FlushResponse as _ringcache_v1_FlushResponse, FlushResponse__Output as _ringcache_v1_FlushResponse__Output } from '../../ringcache/v1/FlushResponse';
import type { PackedFrame as _ringcache_v1_PackedFrame, PackedFrame__Output as _ringcache_v1_PackedFrame__Output } from '../../ringcache/v1/PackedFrame';
import type { PeerFlushRequest as _ringcache_v1_PeerFlushRequest, PeerFlushRequest__Output as _ringcache_v1_PeerFlushRequest__Output } from '../../ringcache/v1/PeerFlushRequest';
import type { PingReqRequest as _ringcache_v1_PingReqRequest, PingReqRequest__Output as _ringcache_v1_PingReqRequest__Output } from '../../ringcache/v1/PingReqRequest';
import type { PingRequest as _ringcache_v1_PingRequest, PingRequest__Output as _ringcache_v1_PingRequest__Output } from '../../ringcache/v1/PingRequest';
import type { PingResponse as _ringcache_v1_PingResponse, PingResponse__Output as _ringcache_v1_PingResponse__Output } from '../../ringcache/v1/PingResponse';
import type { RingState as _ringcache_v1_RingState, RingState__Output as _ringcache_v1_RingState__Output } from '../../ringcache/v1/RingState';
import type { SyncRequest as _ringcache_v1_SyncRequest, SyncRequest__Output as _ringcache_v1_SyncRequest__Output } from '../../ringcache/v1/SyncRequest';
import type { SyncResponse as _ringcache_v1_SyncResponse, SyncResponse__Output as _ringcache_v1_SyncResponse__Output } from '../../ringcache/v1/SyncResponse';

export interface PeerClient extends grpc.Client {
  ApplyRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ApplyRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ApplyRing(argument: _ringcache_v1_RingState, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ApplyRing(argument: _ringcache_v1_RingState, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  applyRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  applyRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  applyRing(argument: _ringcache_v1_RingState, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  applyRing(argument: _ringcache_v1_RingState, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  
  Compare(argument: _ringcache_v1_PackedFrame, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  Compare(argument: _ringcache_v1_PackedFrame, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  Compare(argument: _ringcache_v1_PackedFrame, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  Compare(argument: _ringcache_v1_PackedFrame, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  compare(argument: _ringcache_v1_PackedFrame, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  compare(argument: _ringcache_v1_PackedFrame, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  compare(argument: _ringcache_v1_PackedFrame, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  compare(argument: _ringcache_v1_PackedFrame, callback: grpc.requestCallback<_ringcache_v1_PackedFrame__Output>): grpc.ClientUnaryCall;
  
  Flush(argument: _ringcache_v1_PeerFlushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_PeerFlushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_PeerFlushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  Flush(argument: _ringcache_v1_PeerFlushRequest, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_PeerFlushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_PeerFlushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_PeerFlushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  flush(argument: _ringcache_v1_PeerFlushRequest, callback: grpc.requestCallback<_ringcache_v1_FlushResponse__Output>): grpc.ClientUnaryCall;
  
  Gossip(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse__Output>;
  Gossip(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse__Output>;
  gossip(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse__Output>;
  gossip(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse__Output>;
  
  Ping(argument: _ringcache_v1_PingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _ringcache_v1_PingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _ringcache_v1_PingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _ringcache_v1_PingRequest, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _ringcache_v1_PingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _ringcache_v1_PingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _ringcache_v1_PingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _ringcache_v1_PingRequest, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  
  PingReq(argument: _ringcache_v1_PingReqRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  PingReq(argument: _ringcache_v1_PingReqRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  PingReq(argument: _ringcache_v1_PingReqRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  PingReq(argument: _ringcache_v1_PingReqRequest, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  pingReq(argument: _ringcache_v1_PingReqRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  pingReq(argument: _ringcache_v1_PingReqRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  pingReq(argument: _ringcache_v1_PingReqRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  pingReq(argument: _ringcache_v1_PingReqRequest, callback: grpc.requestCallback<_ringcache_v1_PingResponse__Output>): grpc.ClientUnaryCall;
  
  ProposeRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ProposeRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ProposeRing(argument: _ringcache_v1_RingState, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  ProposeRing(argument: _ringcache_v1_RingState, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  proposeRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  proposeRing(argument: _ringcache_v1_RingState, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  proposeRing(argument: _ringcache_v1_RingState, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  proposeRing(argument: _ringcache_v1_RingState, callback: grpc.requestCallback<_ringcache_v1_RingState__Output>): grpc.ClientUnaryCall;
  
  Read(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  Read(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  read(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  read(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  
  Replicate(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  Replicate(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  replicate(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  replicate(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  
  Sync(argument: _ringcache_v1_SyncRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_SyncResponse__Output>;
  Sync(argument: _ringcache_v1_SyncRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_SyncResponse__Output>;
  sync(argument: _ringcache_v1_SyncRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_SyncResponse__Output>;
  sync(argument: _ringcache_v1_SyncRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_SyncResponse__Output>;
  
}

export interface PeerHandlers extends grpc.UntypedServiceImplementation {
  ApplyRing: grpc.handleUnaryCall<_ringcache_v1_RingState__Output, _ringcache_v1_RingState>;
  
  Compare: grpc.handleUnaryCall<_ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame>;
  
  Flush: grpc.handleUnaryCall<_ringcache_v1_PeerFlushRequest__Output, _ringcache_v1_FlushResponse>;
  
  Gossip: grpc.handleBidiStreamingCall<_ringcache_v1_PingRequest__Output, _ringcache_v1_PingResponse>;
  
  Ping: grpc.handleUnaryCall<_ringcache_v1_PingRequest__Output, _ringcache_v1_PingResponse>;
  
  PingReq: grpc.handleUnaryCall<_ringcache_v1_PingReqRequest__Output, _ringcache_v1_PingResponse>;
  
  ProposeRing: grpc.handleUnaryCall<_ringcache_v1_RingState__Output, _ringcache_v1_RingState>;
  
  Read: grpc.handleBidiStreamingCall<_ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame>;
  
  Replicate: grpc.handleBidiStreamingCall<_ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame>;
  
  Sync: grpc.handleServerStreamingCall<_ringcache_v1_SyncRequest__Output, _ringcache_v1_SyncResponse>;
  
}

export interface PeerDefinition extends grpc.ServiceDefinition {
  ApplyRing: MethodDefinition<_ringcache_v1_RingState, _ringcache_v1_RingState, _ringcache_v1_RingState__Output, _ringcache_v1_RingState__Output>
  Compare: MethodDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame__Output>
  Flush: MethodDefinition<_ringcache_v1_PeerFlushRequest, _ringcache_v1_FlushResponse, _ringcache_v1_PeerFlushRequest__Output, _ringcache_v1_FlushResponse__Output>
  Gossip: MethodDefinition<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse, _ringcache_v1_PingRequest__Output, _ringcache_v1_PingResponse__Output>
  Ping: MethodDefinition<_ringcache_v1_PingRequest, _ringcache_v1_PingResponse, _ringcache_v1_PingRequest__Output, _ringcache_v1_PingResponse__Output>
  PingReq: MethodDefinition<_ringcache_v1_PingReqRequest, _ringcache_v1_PingResponse, _ringcache_v1_PingReqRequest__Output, _ringcache_v1_PingResponse__Output>
  ProposeRing: MethodDefinition<_ringcache_v1_RingState, _ringcache_v1_RingState, _ringcache_v1_RingState__Output, _ringcache_v1_RingState__Output>
  Read: MethodDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame__Output>
  Replicate: MethodDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame__Output>
  Sync: MethodDefinition<_ringcache_v1_SyncRequest, _ringcache_v1_SyncResponse, _ringcache_v1_SyncRequest__Output, _ringcache_v1_SyncResponse__Output>
}
