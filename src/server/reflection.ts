import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { Reader } from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { PROTO_ROOT } from '../proto/load';

/** Services a person sees with `grpcurl -plaintext HOST:PORT list`. Peer is node-to-node only. */
export const PUBLIC_SERVICES = [
  'ringcache.v1.Cache',
  'ringcache.v1.Cluster',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** The reflection services' one method, by its path in each version. */
const REFLECTION_PATHS = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
];

interface ReflectionMethod {
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: grpc.handleBidiStreamingCall<unknown, unknown>;
}

/**
 * Server reflection (v1 and v1alpha), answered from proto/descriptors.binpb: the descriptors of our
 * protos and of the health and reflection protos (vendored under proto/grpc/), compiled by buf
 * (`npm run proto:descriptors`; a unit test fails when it is stale). Descriptors rebuilt by protobufjs
 * from the loaded protos are not what a strict descriptor pool (protobuf's Go and C++ runtimes, so
 * grpcurl and buf curl) accepts: the health map field's entry type came out as "Statuses" with the
 * map_entry option set, and the file as grpc_health_v1.proto.
 *
 * The service is built on its first call, not here: building it (indexing the descriptors, loading
 * the reflection protos) was about 130 ms of CPU, a fifth of a node's start, paid by every start for
 * a service that only people with grpcurl call. What is registered now is each method's path and
 * shape; its message (de)serializers and handler are the real ones, fetched when first used.
 */
export function addReflection(server: grpc.Server): void {
  let methods: Map<string, ReflectionMethod> | undefined;
  const method = (path: string): ReflectionMethod => {
    methods ??= buildReflection();
    const found = methods.get(path);
    if (!found) throw new Error(`@grpc/reflection registered no ${path}`);
    return found;
  };
  for (const path of REFLECTION_PATHS) {
    const definition: grpc.MethodDefinition<unknown, unknown> = {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value) => method(path).definition.requestSerialize(value),
      requestDeserialize: (bytes) => method(path).definition.requestDeserialize(bytes),
      responseSerialize: (value) => method(path).definition.responseSerialize(value),
      responseDeserialize: (bytes) => method(path).definition.responseDeserialize(bytes),
      originalName: 'serverReflectionInfo',
    };
    server.addService(
      { ServerReflectionInfo: definition },
      {
        ServerReflectionInfo: (call: grpc.ServerDuplexStream<unknown, unknown>) => method(path).handler(call),
      },
    );
  }
}

/** The library's reflection service, registered on a stand-in server that keeps what it is given. */
function buildReflection(): Map<string, ReflectionMethod> {
  const definition = {
    descriptors: { fileDescriptorProtos: fileDescriptorProtos(readFileSync(DESCRIPTORS)) },
  } as unknown as protoLoader.PackageDefinition; // the service reads only this from each entry
  const methods = new Map<string, ReflectionMethod>();
  const capture = {
    addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) {
      for (const [name, def] of Object.entries(service)) {
        const handler = implementation[name] as grpc.handleBidiStreamingCall<unknown, unknown>;
        methods.set(def.path, { definition: def as grpc.MethodDefinition<unknown, unknown>, handler });
      }
    },
  };
  new ReflectionService(definition, { services: PUBLIC_SERVICES }).addToServer(capture);
  return methods;
}

/**
 * The encoded FileDescriptorProtos of a FileDescriptorSet, sliced from its bytes: the set is only
 * `repeated FileDescriptorProto file = 1`, so each file is one length-delimited field 1 (tag 0x0a),
 * with no need to decode and re-encode every descriptor.
 */
export function fileDescriptorProtos(set: Buffer): Buffer[] {
  const files: Buffer[] = [];
  const reader = Reader.create(set);
  while (reader.pos < reader.len) {
    const at = reader.pos;
    const tag = reader.uint32();
    if (tag !== 0x0a) throw new Error(`descriptor set: unexpected tag ${tag} at byte ${at}`);
    const length = reader.uint32();
    if (reader.pos + length > reader.len) throw new Error('descriptor set: a file runs past the end');
    files.push(set.subarray(reader.pos, reader.pos + length));
    reader.skip(length);
  }
  return files;
}

/** The compiled descriptor set, next to the protos. */
export const DESCRIPTORS = path.join(PROTO_ROOT, 'descriptors.binpb');
