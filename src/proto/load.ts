import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { deserializePackedFrame, serializePackedFrame } from './packed';

/** proto/ at the package root: dist/src/proto/load.js -> ../../../proto, src/proto/load.ts -> ../../proto. */
export const PROTO_ROOT = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../proto' : '../../proto',
);

export const PROTO_FILES = [
  'ringcache/v1/cache.proto',
  'ringcache/v1/cluster.proto',
  'ringcache/v1/peer.proto',
];

/**
 * How messages look in JS (src/proto/messages.ts is written for exactly these options):
 * camelCase fields, 64-bit integers as numbers (our versions and counters stay below 2^53 by design),
 * enums as numbers, absent fields filled with defaults, and `oneof` names set to the chosen field.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: protoLoader.PackageDefinition | undefined;

export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
  return cached;
}

type ClientCtor = grpc.ServiceClientConstructor;

export interface RingcacheServices {
  Cache: ClientCtor;
  Cluster: ClientCtor;
  Peer: ClientCtor;
}

export function loadServices(): RingcacheServices {
  const root = grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as {
    ringcache: { v1: RingcacheServices };
  };
  return root.ringcache.v1;
}

/**
 * The Cache service definition with PipelinePacked's frames left as raw payload bytes: the handler
 * and the SDK read and write the msgpack payload themselves (src/proto/packed.ts), skipping protobufjs.
 */
export function packedCacheService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const method = service.PipelinePacked;
  if (!method) throw new Error('ringcache.v1.Cache has no PipelinePacked method: proto/ out of date?');
  return {
    ...service,
    PipelinePacked: {
      ...method,
      requestSerialize: serializePackedFrame,
      requestDeserialize: deserializePackedFrame,
      responseSerialize: serializePackedFrame,
      responseDeserialize: deserializePackedFrame,
    },
  };
}
