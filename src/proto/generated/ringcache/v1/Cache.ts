// Original file: proto/ringcache/v1/cache.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CompareAndSetRequest as _ringcache_v1_CompareAndSetRequest, CompareAndSetRequest__Output as _ringcache_v1_CompareAndSetRequest__Output } from '../../ringcache/v1/CompareAndSetRequest';
import type { CompareAndSetResponse as _ringcache_v1_CompareAndSetResponse, CompareAndSetResponse__Output as _ringcache_v1_CompareAndSetResponse__Output } from '../../ringcache/v1/CompareAndSetResponse';
import type { DeleteRequest as _ringcache_v1_DeleteRequest, DeleteRequest__Output as _ringcache_v1_DeleteRequest__Output } from '../../ringcache/v1/DeleteRequest';
import type { DeleteResponse as _ringcache_v1_DeleteResponse, DeleteResponse__Output as _ringcache_v1_DeleteResponse__Output } from '../../ringcache/v1/DeleteResponse';
import type { GetManyRequest as _ringcache_v1_GetManyRequest, GetManyRequest__Output as _ringcache_v1_GetManyRequest__Output } from '../../ringcache/v1/GetManyRequest';
import type { GetManyResponse as _ringcache_v1_GetManyResponse, GetManyResponse__Output as _ringcache_v1_GetManyResponse__Output } from '../../ringcache/v1/GetManyResponse';
import type { GetRequest as _ringcache_v1_GetRequest, GetRequest__Output as _ringcache_v1_GetRequest__Output } from '../../ringcache/v1/GetRequest';
import type { GetResponse as _ringcache_v1_GetResponse, GetResponse__Output as _ringcache_v1_GetResponse__Output } from '../../ringcache/v1/GetResponse';
import type { IncrementRequest as _ringcache_v1_IncrementRequest, IncrementRequest__Output as _ringcache_v1_IncrementRequest__Output } from '../../ringcache/v1/IncrementRequest';
import type { IncrementResponse as _ringcache_v1_IncrementResponse, IncrementResponse__Output as _ringcache_v1_IncrementResponse__Output } from '../../ringcache/v1/IncrementResponse';
import type { PackedFrame as _ringcache_v1_PackedFrame, PackedFrame__Output as _ringcache_v1_PackedFrame__Output } from '../../ringcache/v1/PackedFrame';
import type { PipelineRequest as _ringcache_v1_PipelineRequest, PipelineRequest__Output as _ringcache_v1_PipelineRequest__Output } from '../../ringcache/v1/PipelineRequest';
import type { PipelineResponse as _ringcache_v1_PipelineResponse, PipelineResponse__Output as _ringcache_v1_PipelineResponse__Output } from '../../ringcache/v1/PipelineResponse';
import type { ScanRequest as _ringcache_v1_ScanRequest, ScanRequest__Output as _ringcache_v1_ScanRequest__Output } from '../../ringcache/v1/ScanRequest';
import type { ScanResponse as _ringcache_v1_ScanResponse, ScanResponse__Output as _ringcache_v1_ScanResponse__Output } from '../../ringcache/v1/ScanResponse';
import type { SetManyRequest as _ringcache_v1_SetManyRequest, SetManyRequest__Output as _ringcache_v1_SetManyRequest__Output } from '../../ringcache/v1/SetManyRequest';
import type { SetManyResponse as _ringcache_v1_SetManyResponse, SetManyResponse__Output as _ringcache_v1_SetManyResponse__Output } from '../../ringcache/v1/SetManyResponse';
import type { SetRequest as _ringcache_v1_SetRequest, SetRequest__Output as _ringcache_v1_SetRequest__Output } from '../../ringcache/v1/SetRequest';
import type { SetResponse as _ringcache_v1_SetResponse, SetResponse__Output as _ringcache_v1_SetResponse__Output } from '../../ringcache/v1/SetResponse';
import type { TouchRequest as _ringcache_v1_TouchRequest, TouchRequest__Output as _ringcache_v1_TouchRequest__Output } from '../../ringcache/v1/TouchRequest';
import type { TouchResponse as _ringcache_v1_TouchResponse, TouchResponse__Output as _ringcache_v1_TouchResponse__Output } from '../../ringcache/v1/TouchResponse';
import type { WatchEvent as _ringcache_v1_WatchEvent, WatchEvent__Output as _ringcache_v1_WatchEvent__Output } from '../../ringcache/v1/WatchEvent';
import type { WatchRequest as _ringcache_v1_WatchRequest, WatchRequest__Output as _ringcache_v1_WatchRequest__Output } from '../../ringcache/v1/WatchRequest';

export interface CacheClient extends grpc.Client {
  CompareAndSet(argument: _ringcache_v1_CompareAndSetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  CompareAndSet(argument: _ringcache_v1_CompareAndSetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  CompareAndSet(argument: _ringcache_v1_CompareAndSetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  CompareAndSet(argument: _ringcache_v1_CompareAndSetRequest, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  compareAndSet(argument: _ringcache_v1_CompareAndSetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  compareAndSet(argument: _ringcache_v1_CompareAndSetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  compareAndSet(argument: _ringcache_v1_CompareAndSetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  compareAndSet(argument: _ringcache_v1_CompareAndSetRequest, callback: grpc.requestCallback<_ringcache_v1_CompareAndSetResponse__Output>): grpc.ClientUnaryCall;
  
  Delete(argument: _ringcache_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _ringcache_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _ringcache_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _ringcache_v1_DeleteRequest, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _ringcache_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _ringcache_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _ringcache_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _ringcache_v1_DeleteRequest, callback: grpc.requestCallback<_ringcache_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  Get(argument: _ringcache_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _ringcache_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _ringcache_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _ringcache_v1_GetRequest, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _ringcache_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _ringcache_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _ringcache_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _ringcache_v1_GetRequest, callback: grpc.requestCallback<_ringcache_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  
  GetMany(argument: _ringcache_v1_GetManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  GetMany(argument: _ringcache_v1_GetManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  GetMany(argument: _ringcache_v1_GetManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  GetMany(argument: _ringcache_v1_GetManyRequest, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  getMany(argument: _ringcache_v1_GetManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  getMany(argument: _ringcache_v1_GetManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  getMany(argument: _ringcache_v1_GetManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  getMany(argument: _ringcache_v1_GetManyRequest, callback: grpc.requestCallback<_ringcache_v1_GetManyResponse__Output>): grpc.ClientUnaryCall;
  
  Increment(argument: _ringcache_v1_IncrementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  Increment(argument: _ringcache_v1_IncrementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  Increment(argument: _ringcache_v1_IncrementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  Increment(argument: _ringcache_v1_IncrementRequest, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  increment(argument: _ringcache_v1_IncrementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  increment(argument: _ringcache_v1_IncrementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  increment(argument: _ringcache_v1_IncrementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  increment(argument: _ringcache_v1_IncrementRequest, callback: grpc.requestCallback<_ringcache_v1_IncrementResponse__Output>): grpc.ClientUnaryCall;
  
  Pipeline(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineResponse__Output>;
  Pipeline(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineResponse__Output>;
  pipeline(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineResponse__Output>;
  pipeline(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineResponse__Output>;
  
  PipelinePacked(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  PipelinePacked(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  pipelinePacked(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  pipelinePacked(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>;
  
  Scan(argument: _ringcache_v1_ScanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _ringcache_v1_ScanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _ringcache_v1_ScanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _ringcache_v1_ScanRequest, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _ringcache_v1_ScanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _ringcache_v1_ScanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _ringcache_v1_ScanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _ringcache_v1_ScanRequest, callback: grpc.requestCallback<_ringcache_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  
  Set(argument: _ringcache_v1_SetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  Set(argument: _ringcache_v1_SetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  Set(argument: _ringcache_v1_SetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  Set(argument: _ringcache_v1_SetRequest, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  set(argument: _ringcache_v1_SetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  set(argument: _ringcache_v1_SetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  set(argument: _ringcache_v1_SetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  set(argument: _ringcache_v1_SetRequest, callback: grpc.requestCallback<_ringcache_v1_SetResponse__Output>): grpc.ClientUnaryCall;
  
  SetMany(argument: _ringcache_v1_SetManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  SetMany(argument: _ringcache_v1_SetManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  SetMany(argument: _ringcache_v1_SetManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  SetMany(argument: _ringcache_v1_SetManyRequest, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  setMany(argument: _ringcache_v1_SetManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  setMany(argument: _ringcache_v1_SetManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  setMany(argument: _ringcache_v1_SetManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  setMany(argument: _ringcache_v1_SetManyRequest, callback: grpc.requestCallback<_ringcache_v1_SetManyResponse__Output>): grpc.ClientUnaryCall;
  
  Touch(argument: _ringcache_v1_TouchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  Touch(argument: _ringcache_v1_TouchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  Touch(argument: _ringcache_v1_TouchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  Touch(argument: _ringcache_v1_TouchRequest, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  touch(argument: _ringcache_v1_TouchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  touch(argument: _ringcache_v1_TouchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  touch(argument: _ringcache_v1_TouchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  touch(argument: _ringcache_v1_TouchRequest, callback: grpc.requestCallback<_ringcache_v1_TouchResponse__Output>): grpc.ClientUnaryCall;
  
  Watch(argument: _ringcache_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_WatchEvent__Output>;
  Watch(argument: _ringcache_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_WatchEvent__Output>;
  watch(argument: _ringcache_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_WatchEvent__Output>;
  watch(argument: _ringcache_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ringcache_v1_WatchEvent__Output>;
  
}

export interface CacheHandlers extends grpc.UntypedServiceImplementation {
  CompareAndSet: grpc.handleUnaryCall<_ringcache_v1_CompareAndSetRequest__Output, _ringcache_v1_CompareAndSetResponse>;
  
  Delete: grpc.handleUnaryCall<_ringcache_v1_DeleteRequest__Output, _ringcache_v1_DeleteResponse>;
  
  Get: grpc.handleUnaryCall<_ringcache_v1_GetRequest__Output, _ringcache_v1_GetResponse>;
  
  GetMany: grpc.handleUnaryCall<_ringcache_v1_GetManyRequest__Output, _ringcache_v1_GetManyResponse>;
  
  Increment: grpc.handleUnaryCall<_ringcache_v1_IncrementRequest__Output, _ringcache_v1_IncrementResponse>;
  
  Pipeline: grpc.handleBidiStreamingCall<_ringcache_v1_PipelineRequest__Output, _ringcache_v1_PipelineResponse>;
  
  PipelinePacked: grpc.handleBidiStreamingCall<_ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame>;
  
  Scan: grpc.handleUnaryCall<_ringcache_v1_ScanRequest__Output, _ringcache_v1_ScanResponse>;
  
  Set: grpc.handleUnaryCall<_ringcache_v1_SetRequest__Output, _ringcache_v1_SetResponse>;
  
  SetMany: grpc.handleUnaryCall<_ringcache_v1_SetManyRequest__Output, _ringcache_v1_SetManyResponse>;
  
  Touch: grpc.handleUnaryCall<_ringcache_v1_TouchRequest__Output, _ringcache_v1_TouchResponse>;
  
  Watch: grpc.handleServerStreamingCall<_ringcache_v1_WatchRequest__Output, _ringcache_v1_WatchEvent>;
  
}

export interface CacheDefinition extends grpc.ServiceDefinition {
  CompareAndSet: MethodDefinition<_ringcache_v1_CompareAndSetRequest, _ringcache_v1_CompareAndSetResponse, _ringcache_v1_CompareAndSetRequest__Output, _ringcache_v1_CompareAndSetResponse__Output>
  Delete: MethodDefinition<_ringcache_v1_DeleteRequest, _ringcache_v1_DeleteResponse, _ringcache_v1_DeleteRequest__Output, _ringcache_v1_DeleteResponse__Output>
  Get: MethodDefinition<_ringcache_v1_GetRequest, _ringcache_v1_GetResponse, _ringcache_v1_GetRequest__Output, _ringcache_v1_GetResponse__Output>
  GetMany: MethodDefinition<_ringcache_v1_GetManyRequest, _ringcache_v1_GetManyResponse, _ringcache_v1_GetManyRequest__Output, _ringcache_v1_GetManyResponse__Output>
  Increment: MethodDefinition<_ringcache_v1_IncrementRequest, _ringcache_v1_IncrementResponse, _ringcache_v1_IncrementRequest__Output, _ringcache_v1_IncrementResponse__Output>
  Pipeline: MethodDefinition<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineResponse, _ringcache_v1_PipelineRequest__Output, _ringcache_v1_PipelineResponse__Output>
  PipelinePacked: MethodDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output, _ringcache_v1_PackedFrame__Output>
  Scan: MethodDefinition<_ringcache_v1_ScanRequest, _ringcache_v1_ScanResponse, _ringcache_v1_ScanRequest__Output, _ringcache_v1_ScanResponse__Output>
  Set: MethodDefinition<_ringcache_v1_SetRequest, _ringcache_v1_SetResponse, _ringcache_v1_SetRequest__Output, _ringcache_v1_SetResponse__Output>
  SetMany: MethodDefinition<_ringcache_v1_SetManyRequest, _ringcache_v1_SetManyResponse, _ringcache_v1_SetManyRequest__Output, _ringcache_v1_SetManyResponse__Output>
  Touch: MethodDefinition<_ringcache_v1_TouchRequest, _ringcache_v1_TouchResponse, _ringcache_v1_TouchRequest__Output, _ringcache_v1_TouchResponse__Output>
  Watch: MethodDefinition<_ringcache_v1_WatchRequest, _ringcache_v1_WatchEvent, _ringcache_v1_WatchRequest__Output, _ringcache_v1_WatchEvent__Output>
}
