import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor';
import { PROTO_ROOT } from '../proto/load';

/** Services a person sees with `grpcurl -plaintext HOST:PORT list`. Peer is node-to-node only. */
export const PUBLIC_SERVICES = [
  'ringcache.v1.Cache',
  'ringcache.v1.Cluster',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/**
 * Server reflection (v1 and v1alpha), answered from proto/descriptors.binpb: the descriptors of our
 * protos and of the health and reflection protos (vendored under proto/grpc/), compiled by buf
 * (`npm run proto:descriptors`; a unit test fails when it is stale). Descriptors rebuilt by protobufjs
 * from the loaded protos are not what a strict descriptor pool (protobuf's Go and C++ runtimes, so
 * grpcurl and buf curl) accepts: the health map field's entry type came out as "Statuses" with the
 * map_entry option set, and the file as grpc_health_v1.proto.
 */
export function addReflection(server: grpc.Server): void {
  const set = descriptor.FileDescriptorSet.decode(readFileSync(DESCRIPTORS)) as unknown as {
    file: protobuf.Message[];
  };
  const fileDescriptorProtos = set.file.map((f) =>
    Buffer.from(descriptor.FileDescriptorProto.encode(f).finish()),
  );
  // The reflection service reads only `fileDescriptorProtos` from each entry of a package definition.
  const definition = { descriptors: { fileDescriptorProtos } } as unknown as protoLoader.PackageDefinition;
  new ReflectionService(definition, { services: PUBLIC_SERVICES }).addToServer(server);
}

/** The compiled descriptor set, next to the protos. */
export const DESCRIPTORS = path.join(PROTO_ROOT, 'descriptors.binpb');
