import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
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

/**
 * proto/ringcache.json: PROTO_FILES as protobufjs reads them with LOADER_OPTIONS (camelCase field
 * names), in its JSON form (`npm run proto:json`; a unit test fails when it is stale). Read instead of
 * the .proto files, it spares every process that speaks gRPC (each node, each SDK client, each CLI
 * command) parsing them twice, for the package definition and for the strict decoder's root: both
 * together took 77-105 ms of CPU, and take 44-47 from the JSON (five alternated runs).
 */
export const PROTO_JSON = path.join(PROTO_ROOT, 'ringcache.json');

let json: protobuf.INamespace | undefined;

/** The parsed proto/ringcache.json, read once per process. */
export function protoJson(): protobuf.INamespace {
  json ??= JSON.parse(readFileSync(PROTO_JSON, 'utf8')) as protobuf.INamespace;
  return json;
}

/** What proto/ringcache.json must hold, as text: PROTO_FILES parsed now (`npm run proto:json` writes it). */
export function protoJsonText(): string {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync(PROTO_FILES, { keepCase: LOADER_OPTIONS.keepCase ?? false });
  return `${JSON.stringify(root.toJSON(), null, 2)}\n`;
}

let cached: protoLoader.PackageDefinition | undefined;

export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.fromJSON(protoJson(), LOADER_OPTIONS);
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
