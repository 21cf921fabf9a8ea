import { isUtf8 } from 'node:buffer';
import * as protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { protoJson } from './load';

/**
 * A request whose bytes are not a valid message of its type. grpc-js answers a deserializer that
 * throws with INTERNAL "Error deserializing request", which blames the server; so the deserializers
 * below return this instead, and the handlers answer it with INVALID_ARGUMENT (see guardRequests).
 */
export class MalformedRequest {
  constructor(readonly problem: string) {}
}

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (root) return root;
  // The same root as proto-loader's (proto/ringcache.json), not shared with it: proto-loader keeps its own.
  const r = protobuf.Root.fromJSON(protoJson());
  r.resolveAll();
  root = r;
  return r;
}

/** The wire type each scalar type is written with (a repeated scalar may also come packed, as 2). */
const WIRE_TYPE: Record<string, number> = {
  double: 1,
  fixed64: 1,
  sfixed64: 1,
  float: 5,
  fixed32: 5,
  sfixed32: 5,
  int32: 0,
  int64: 0,
  uint32: 0,
  uint64: 0,
  sint32: 0,
  sint64: 0,
  bool: 0,
  string: 2,
  bytes: 2,
};

/**
 * Checks that `buf` is a well-formed encoding of `type`: every varint ends, every length fits in its
 * message (protobufjs reads a string that claims 5 bytes and carries 1 as that 1 byte), known fields
 * come with their wire type, strings are valid UTF-8, no groups. Returns what is wrong, or undefined.
 */
export function malformation(
  type: protobuf.Type,
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): string | undefined {
  let pos = start;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= end) return undefined;
      const b = buf[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (pos < end) {
    const at = pos;
    const tag = varint();
    if (tag === undefined) return `${type.name}: a field tag at byte ${at} is cut off`;
    const id = Math.floor(tag / 8);
    const wire = tag % 8;
    if (id === 0) return `${type.name}: field number 0 at byte ${at}`;
    const field = type.fieldsById[id];
    const fieldName = field ? `${type.name}.${field.name}` : `${type.name} field ${id}`;
    switch (wire) {
      case 0:
        if (varint() === undefined) return `${fieldName}: its varint is cut off`;
        break;
      case 1:
      case 5: {
        pos += wire === 1 ? 8 : 4;
        if (pos > end) return `${fieldName}: cut off (needs ${wire === 1 ? 8 : 4} bytes)`;
        break;
      }
      case 2: {
        const length = varint();
        if (length === undefined) return `${fieldName}: its length is cut off`;
        const from = pos;
        pos += length;
        if (pos > end) return `${fieldName}: claims ${length} bytes, ${end - from} remain`;
        if (!field) break;
        if (field.map) break;
        if (field.resolvedType instanceof protobuf.Type) {
          const inner = malformation(field.resolvedType, buf, from, pos);
          if (inner) return inner;
        } else if (field.type === 'string' && !isUtf8(buf.subarray(from, pos))) {
          return `${fieldName} is not valid UTF-8`;
        }
        continue; // the wire type is right for strings, bytes, messages and packed scalars
      }
      default:
        return `${fieldName}: wire type ${wire} (groups or unknown) is not accepted`;
    }
    if (field && !field.map && !(field.resolvedType instanceof protobuf.Enum)) {
      const expected = field.resolvedType instanceof protobuf.Type ? 2 : WIRE_TYPE[field.type];
      if (expected !== undefined && expected !== wire) {
        return `${fieldName}: sent with wire type ${wire}, its type ${field.type} uses ${expected}`;
      }
    }
  }
  return undefined;
}

/**
 * The service definition with deserializers that check each request strictly first and return a
 * MalformedRequest instead of throwing. Raw-payload methods (PackedFrame bytes read by the handler)
 * keep theirs, wrapped the same way.
 */
export function withStrictRequests(
  service: grpc.ServiceDefinition,
  serviceName: string,
): grpc.ServiceDefinition {
  const described = protoRoot().lookupService(serviceName);
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const [name, method] of Object.entries(service)) {
    const type = described.methods[name]?.resolvedRequestType;
    const decode = method.requestDeserialize as (buf: Buffer) => unknown;
    const strict: grpc.MethodDefinition<unknown, unknown> = {
      ...method,
      requestDeserialize: (buf: Buffer): unknown => {
        const problem = type ? malformation(type, buf) : undefined;
        if (problem) return new MalformedRequest(problem);
        try {
          return decode(buf);
        } catch (err) {
          return new MalformedRequest(`not a ${type?.name ?? 'request'}: ${(err as Error).message}`);
        }
      },
    };
    out[name] = strict;
  }
  return out;
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;
type Handler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * Handlers that answer a MalformedRequest with INVALID_ARGUMENT before it reaches them. A call with
 * one request is checked up front; on a stream, each message is checked as it arrives (the stream's
 * 'data' listeners see only well-formed ones), and the first malformed one ends the call.
 */
export function guardRequests(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  serviceName: string,
): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = { ...handlers };
  for (const [name, method] of Object.entries(definition)) {
    const handler = handlers[name] as Handler | undefined;
    if (!handler) continue;
    const refusal = (m: MalformedRequest) => ({
      code: 3, // INVALID_ARGUMENT
      details: `${serviceName}/${name}: malformed request: ${m.problem}`,
    });
    guarded[name] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      if (!method.requestStream) {
        const request = (call as grpc.ServerUnaryCall<unknown, unknown>).request;
        if (!(request instanceof MalformedRequest)) return handler(call, callback);
        if (callback) return callback(refusal(request));
        return void call.emit('error', refusal(request));
      }
      const stream = call as grpc.ServerDuplexStream<unknown, unknown>;
      const on = stream.on.bind(stream);
      let refused = false;
      stream.on = ((event: string, listener: (...args: unknown[]) => void) =>
        event !== 'data'
          ? on(event, listener)
          : on('data', (message: unknown) => {
              // Once refused, the call is over: what its client sent after is not the handler's.
              if (refused) return;
              if (!(message instanceof MalformedRequest)) return listener(message);
              refused = true;
              stream.emit('error', refusal(message));
            })) as typeof stream.on;
      return handler(call, callback);
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}
