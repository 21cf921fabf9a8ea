import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type * as grpc from '@grpc/grpc-js';
import { LOADER_OPTIONS, PROTO_FILES, PROTO_ROOT } from '../proto/load';

/** Services a person sees with `grpcurl -plaintext HOST:PORT list`. Peer is node-to-node only. */
export const PUBLIC_SERVICES = [
  'ringcache.v1.Cache',
  'ringcache.v1.Cluster',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/**
 * Server reflection (v1 and v1alpha). It is fed a package definition holding our protos AND the health
 * and reflection protos: a reflection service fed only our own package lists only our own services, and
 * grpcurl could then neither `list` nor `describe` grpc.health.v1.Health.
 */
export function addReflection(server: grpc.Server): void {
  const healthRoot = path.resolve(path.dirname(healthProtoPath), '../..');
  const reflectionRoot = path.resolve(require.resolve('@grpc/reflection'), '../../proto');
  const files = [
    ...PROTO_FILES,
    path.relative(healthRoot, healthProtoPath),
    'grpc/reflection/v1/reflection.proto',
    'grpc/reflection/v1alpha/reflection.proto',
  ];
  const definition = protoLoader.loadSync(files, {
    ...LOADER_OPTIONS,
    includeDirs: [PROTO_ROOT, healthRoot, reflectionRoot],
  });
  new ReflectionService(definition, { services: PUBLIC_SERVICES }).addToServer(server);
}
