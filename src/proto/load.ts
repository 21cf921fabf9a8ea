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
 * A service definition whose `methods` carry PackedFrame payloads as raw bytes: the handlers and
 * clients read and write the msgpack payload themselves (src/proto/packed.ts), skipping protobufjs.
 * Used for Cache.PipelinePacked, Peer.Replicate and Peer.Read.
 */
export function withRawPayloads(
  service: grpc.ServiceDefinition,
  methods: readonly string[],
): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const name of methods) {
    const method = service[name];
    if (!method) throw new Error(`service has no method ${name}: proto/ out of date?`);
    out[name] = {
      ...method,
      requestSerialize: serializePackedFrame,
      requestDeserialize: deserializePackedFrame,
      responseSerialize: serializePackedFrame,
      responseDeserialize: deserializePackedFrame,
    } as grpc.MethodDefinition<unknown, unknown>;
  }
  return out;
}
