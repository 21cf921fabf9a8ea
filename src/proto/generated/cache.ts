import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CacheClient as _ringcache_v1_CacheClient, CacheDefinition as _ringcache_v1_CacheDefinition } from './ringcache/v1/Cache';
import type { CompareAndSetRequest as _ringcache_v1_CompareAndSetRequest, CompareAndSetRequest__Output as _ringcache_v1_CompareAndSetRequest__Output } from './ringcache/v1/CompareAndSetRequest';
import type { CompareAndSetResponse as _ringcache_v1_CompareAndSetResponse, CompareAndSetResponse__Output as _ringcache_v1_CompareAndSetResponse__Output } from './ringcache/v1/CompareAndSetResponse';
import type { DeleteRequest as _ringcache_v1_DeleteRequest, DeleteRequest__Output as _ringcache_v1_DeleteRequest__Output } from './ringcache/v1/DeleteRequest';
import type { DeleteResponse as _ringcache_v1_DeleteResponse, DeleteResponse__Output as _ringcache_v1_DeleteResponse__Output } from './ringcache/v1/DeleteResponse';
import type { GetManyRequest as _ringcache_v1_GetManyRequest, GetManyRequest__Output as _ringcache_v1_GetManyRequest__Output } from './ringcache/v1/GetManyRequest';
import type { GetManyResponse as _ringcache_v1_GetManyResponse, GetManyResponse__Output as _ringcache_v1_GetManyResponse__Output } from './ringcache/v1/GetManyResponse';
import type { GetRequest as _ringcache_v1_GetRequest, GetRequest__Output as _ringcache_v1_GetRequest__Output } from './ringcache/v1/GetRequest';
import type { GetResponse as _ringcache_v1_GetResponse, GetResponse__Output as _ringcache_v1_GetResponse__Output } from './ringcache/v1/GetResponse';
import type { IncrementRequest as _ringcache_v1_IncrementRequest, IncrementRequest__Output as _ringcache_v1_IncrementRequest__Output } from './ringcache/v1/IncrementRequest';
import type { IncrementResponse as _ringcache_v1_IncrementResponse, IncrementResponse__Output as _ringcache_v1_IncrementResponse__Output } from './ringcache/v1/IncrementResponse';
import type { Operation as _ringcache_v1_Operation, Operation__Output as _ringcache_v1_Operation__Output } from './ringcache/v1/Operation';
import type { OperationResult as _ringcache_v1_OperationResult, OperationResult__Output as _ringcache_v1_OperationResult__Output } from './ringcache/v1/OperationResult';
import type { PackedFrame as _ringcache_v1_PackedFrame, PackedFrame__Output as _ringcache_v1_PackedFrame__Output } from './ringcache/v1/PackedFrame';
import type { PipelineRequest as _ringcache_v1_PipelineRequest, PipelineRequest__Output as _ringcache_v1_PipelineRequest__Output } from './ringcache/v1/PipelineRequest';
import type { PipelineResponse as _ringcache_v1_PipelineResponse, PipelineResponse__Output as _ringcache_v1_PipelineResponse__Output } from './ringcache/v1/PipelineResponse';
import type { ScanRequest as _ringcache_v1_ScanRequest, ScanRequest__Output as _ringcache_v1_ScanRequest__Output } from './ringcache/v1/ScanRequest';
import type { ScanResponse as _ringcache_v1_ScanResponse, ScanResponse__Output as _ringcache_v1_ScanResponse__Output } from './ringcache/v1/ScanResponse';
import type { SetManyRequest as _ringcache_v1_SetManyRequest, SetManyRequest__Output as _ringcache_v1_SetManyRequest__Output } from './ringcache/v1/SetManyRequest';
import type { SetManyResponse as _ringcache_v1_SetManyResponse, SetManyResponse__Output as _ringcache_v1_SetManyResponse__Output } from './ringcache/v1/SetManyResponse';
import type { SetRequest as _ringcache_v1_SetRequest, SetRequest__Output as _ringcache_v1_SetRequest__Output } from './ringcache/v1/SetRequest';
import type { SetResponse as _ringcache_v1_SetResponse, SetResponse__Output as _ringcache_v1_SetResponse__Output } from './ringcache/v1/SetResponse';
import type { TouchRequest as _ringcache_v1_TouchRequest, TouchRequest__Output as _ringcache_v1_TouchRequest__Output } from './ringcache/v1/TouchRequest';
import type { TouchResponse as _ringcache_v1_TouchResponse, TouchResponse__Output as _ringcache_v1_TouchResponse__Output } from './ringcache/v1/TouchResponse';
import type { Version as _ringcache_v1_Version, Version__Output as _ringcache_v1_Version__Output } from './ringcache/v1/Version';
import type { WatchEvent as _ringcache_v1_WatchEvent, WatchEvent__Output as _ringcache_v1_WatchEvent__Output } from './ringcache/v1/WatchEvent';
import type { WatchRequest as _ringcache_v1_WatchRequest, WatchRequest__Output as _ringcache_v1_WatchRequest__Output } from './ringcache/v1/WatchRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ringcache: {
    v1: {
      Cache: SubtypeConstructor<typeof grpc.Client, _ringcache_v1_CacheClient> & { service: _ringcache_v1_CacheDefinition }
      ChangeKind: EnumTypeDefinition
      CompareAndSetRequest: MessageTypeDefinition<_ringcache_v1_CompareAndSetRequest, _ringcache_v1_CompareAndSetRequest__Output>
      CompareAndSetResponse: MessageTypeDefinition<_ringcache_v1_CompareAndSetResponse, _ringcache_v1_CompareAndSetResponse__Output>
      Consistency: EnumTypeDefinition
      DeleteRequest: MessageTypeDefinition<_ringcache_v1_DeleteRequest, _ringcache_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_ringcache_v1_DeleteResponse, _ringcache_v1_DeleteResponse__Output>
      GetManyRequest: MessageTypeDefinition<_ringcache_v1_GetManyRequest, _ringcache_v1_GetManyRequest__Output>
      GetManyResponse: MessageTypeDefinition<_ringcache_v1_GetManyResponse, _ringcache_v1_GetManyResponse__Output>
      GetRequest: MessageTypeDefinition<_ringcache_v1_GetRequest, _ringcache_v1_GetRequest__Output>
      GetResponse: MessageTypeDefinition<_ringcache_v1_GetResponse, _ringcache_v1_GetResponse__Output>
      IncrementRequest: MessageTypeDefinition<_ringcache_v1_IncrementRequest, _ringcache_v1_IncrementRequest__Output>
      IncrementResponse: MessageTypeDefinition<_ringcache_v1_IncrementResponse, _ringcache_v1_IncrementResponse__Output>
      Operation: MessageTypeDefinition<_ringcache_v1_Operation, _ringcache_v1_Operation__Output>
      OperationResult: MessageTypeDefinition<_ringcache_v1_OperationResult, _ringcache_v1_OperationResult__Output>
      PackedFrame: MessageTypeDefinition<_ringcache_v1_PackedFrame, _ringcache_v1_PackedFrame__Output>
      PipelineRequest: MessageTypeDefinition<_ringcache_v1_PipelineRequest, _ringcache_v1_PipelineRequest__Output>
      PipelineResponse: MessageTypeDefinition<_ringcache_v1_PipelineResponse, _ringcache_v1_PipelineResponse__Output>
      ScanRequest: MessageTypeDefinition<_ringcache_v1_ScanRequest, _ringcache_v1_ScanRequest__Output>
      ScanResponse: MessageTypeDefinition<_ringcache_v1_ScanResponse, _ringcache_v1_ScanResponse__Output>
      SetManyRequest: MessageTypeDefinition<_ringcache_v1_SetManyRequest, _ringcache_v1_SetManyRequest__Output>
      SetManyResponse: MessageTypeDefinition<_ringcache_v1_SetManyResponse, _ringcache_v1_SetManyResponse__Output>
      SetMode: EnumTypeDefinition
      SetRequest: MessageTypeDefinition<_ringcache_v1_SetRequest, _ringcache_v1_SetRequest__Output>
      SetResponse: MessageTypeDefinition<_ringcache_v1_SetResponse, _ringcache_v1_SetResponse__Output>
      TouchRequest: MessageTypeDefinition<_ringcache_v1_TouchRequest, _ringcache_v1_TouchRequest__Output>
      TouchResponse: MessageTypeDefinition<_ringcache_v1_TouchResponse, _ringcache_v1_TouchResponse__Output>
      ValueFlags: EnumTypeDefinition
      Version: MessageTypeDefinition<_ringcache_v1_Version, _ringcache_v1_Version__Output>
      WatchEvent: MessageTypeDefinition<_ringcache_v1_WatchEvent, _ringcache_v1_WatchEvent__Output>
      WatchRequest: MessageTypeDefinition<_ringcache_v1_WatchRequest, _ringcache_v1_WatchRequest__Output>
    }
  }
}

