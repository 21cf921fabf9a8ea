import * as grpc from '@grpc/grpc-js';
import { constants as http2 } from 'node:http2';
import { Gauge, type Registry } from 'prom-client';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../observability/logger';
import { Code, METADATA } from '../proto/messages';
import type { ClientOutputBudget } from './client-output';
import type { RequestReads } from './request-reads';

/**
 * What one request may ask of a node (cluster.yml limits.max_batch_keys and max_reply_bytes): the one
 * place that decides whether a GetMany, SetMany or Pipeline frame is refused whole, with the counts
 * and the rate-limited warning every refusal goes through.
 */
export type RequestLimits = Pick<LimitsConfig, 'maxBatchKeys' | 'maxReplyBytes'>;

/** The limit a refusal names: its `limit` label on ringcache_limit_refusals_total. */
export type LimitName =
  | 'max_batch_keys'
  | 'max_reply_bytes'
  | 'max_key_bytes'
  | 'max_output_buffer_bytes'
  | 'max_watchers'
  | 'max_connections'
  | 'max_client_output_bytes'
  | 'max_client_input_bytes'
  | 'max_request_bytes'
  | 'idle_timeout_ms'
  | 'max_client_calls';

export const LIMIT_NAMES = Object.keys({
  max_batch_keys: true,
  max_reply_bytes: true,
  max_key_bytes: true,
  max_output_buffer_bytes: true,
  max_watchers: true,
  max_connections: true,
  max_client_output_bytes: true,
  max_client_input_bytes: true,
  max_request_bytes: true,
  idle_timeout_ms: true,
  max_client_calls: true,
} satisfies Record<LimitName, true>) as LimitName[];

/**
 * Whether a request refused by `limit` may pass if sent again unchanged: the limits that count what
 * the node holds for all its clients at the moment, and max_reply_bytes, which refuses an SDK frame's
 * gets only past the values of the others in it. Such refusals of a whole frame (before it ran) or of
 * a get wrote nothing: packed ones are named TRY_AGAIN, or REPLY_FULL for max_reply_bytes
 * (proto/packed.ts), and the SDK sends their operations again.
 */
export function passesLater(limit: LimitName | undefined): boolean {
  return (
    limit === 'max_client_input_bytes' || limit === 'max_client_output_bytes' || limit === 'max_reply_bytes'
  );
}

/** A request refused whole: the status it gets (its message names the limit and its value). */
export interface LimitRefusal {
  limit: LimitName;
  code: number;
  message: string;
  /** The warning logged (once a minute per limit); by default a request refused whole. */
  warning?: string;
  /**
   * Bytes of the refused request's message, where it was read whole before it could be refused (a
   * batch past max_batch_keys, a GetMany past max_reply_bytes, a write or frame with no room in
   * max_client_input_bytes): memory no budget counted, which the memory guard takes for a flood.
   */
  requestBytes?: number;
}

/** More keys or operations than max_batch_keys; undefined when `count` is within it. */
export function batchRefusal(
  what: string,
  count: number,
  unit: string,
  limits: RequestLimits,
): LimitRefusal | undefined {
  if (count <= limits.maxBatchKeys) return undefined;
  return {
    limit: 'max_batch_keys',
    code: Code.RESOURCE_EXHAUSTED,
    message: `${what} asks for ${count} ${unit}; limits.max_batch_keys is ${limits.maxBatchKeys}`,
  };
}

/**
 * Sums the value bytes of a reply's results as they are read, so that a reply past max_reply_bytes is
 * refused before it is built: the caller stops reading more once `exceeded`, so a node copies out of
 * its store at most the limit plus one value for a request it refuses. With the node's
 * ClientOutputBudget, the bytes also count there until `release()`, and a reply that would take the
 * node past max_client_output_bytes is `exceeded` as well. Once exceeded it stays so: a frame decides
 * each of its reads on one answer.
 */
export class ReplyBudget {
  #bytes = 0;
  /** Bytes counted in the node's budget and not yet released. */
  #held = 0;
  #released = false;
  /** The limit passed, once one is. */
  #over: 'max_reply_bytes' | 'max_client_output_bytes' | undefined;
  /** What the node held when this reply passed its budget: what the refusal says. */
  #nodeBytesWhenOver = 0;

  constructor(
    readonly maxBytes: number,
    readonly output?: ClientOutputBudget,
  ) {}

  add(bytes: number): void {
    this.#bytes += bytes;
    const output = this.output;
    if (output && !this.#released) {
      this.#held += bytes;
      output.bytes += bytes;
    }
    if (this.#over !== undefined) return;
    // One reply past its own limit names that one, though the node's may be passed with it.
    if (this.#bytes > this.maxBytes) this.#over = 'max_reply_bytes';
    else if (output && !this.#released && !output.allows(this.#held)) {
      this.#over = 'max_client_output_bytes';
      this.#nodeBytesWhenOver = output.bytes;
    }
  }

  get exceeded(): boolean {
    return this.#over !== undefined;
  }

  /** Gives the node's budget back what this reply holds; what is added after counts no more. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.output) this.output.bytes -= this.#held;
    this.#held = 0;
  }

  refusal(what: string): LimitRefusal {
    if (this.#over === 'max_client_output_bytes') return this.output!.refusal(what, this.#nodeBytesWhenOver);
    return replyLimitRefusal(what, this.maxBytes);
  }
}

/** The refusal of a reply (`what`: 'GetMany', 'frame') whose values pass max_reply_bytes, `maxBytes`. */
export function replyLimitRefusal(what: string, maxBytes: number): LimitRefusal {
  return {
    limit: 'max_reply_bytes',
    code: Code.RESOURCE_EXHAUSTED,
    message: `${what}'s values add up to more than limits.max_reply_bytes, ${maxBytes} bytes; ask for fewer at once`,
  };
}

/** How often each limit's refusals are logged, at most: one client looping must not flood the log. */
const WARN_EVERY_MS = 60_000;

/**
 * Refusals by limit, read by /metrics, and a warning per limit at most once a minute carrying how many
 * were refused since the last one. Never keys or values: the log is not a place for a client's data.
 */
export class LimitRefusals {
  readonly #counts = new Map<LimitName, number>();
  readonly #lastWarnMs = new Map<LimitName, number>();
  readonly #unlogged = new Map<LimitName, number>();

  constructor(
    readonly log: Logger,
    readonly now: () => number = Date.now,
  ) {}

  /** Bytes of the refused requests' messages so far (LimitRefusal.requestBytes): the memory guard's sign of a flood. */
  refusedBytes = 0;

  count(limit: LimitName): number {
    return this.#counts.get(limit) ?? 0;
  }

  /** Counts a refusal, and warns when this limit's last warning is a minute old. */
  note(refusal: LimitRefusal): void {
    const { limit } = refusal;
    this.refusedBytes += refusal.requestBytes ?? 0;
    this.#counts.set(limit, this.count(limit) + 1);
    const refused = (this.#unlogged.get(limit) ?? 0) + 1;
    const nowMs = this.now();
    const last = this.#lastWarnMs.get(limit);
    if (last !== undefined && nowMs - last < WARN_EVERY_MS) {
      this.#unlogged.set(limit, refused);
      return;
    }
    this.#lastWarnMs.set(limit, nowMs);
    this.#unlogged.set(limit, 0);
    this.log.warn({ limit, refused }, refusal.warning ?? 'requests refused whole: they asked past a limit');
  }
}

/**
 * A GetMany, SetMany or Pipeline request with more items than max_batch_keys, counted in its bytes
 * instead of decoded: protobufjs took 0.8 s to build the array of a million-key GetMany (and the
 * strict check before it 0.2 s more) only for the handler to refuse it.
 */
export class TooManyItems {
  constructor(
    readonly count: number,
    /** Pipeline's frame_id (field 2), so that its refusal answers the right frame. */
    readonly frameId: number,
    readonly refusal: LimitRefusal,
  ) {}
}

/** The methods whose requests carry their items as repeated field 1: what a refusal calls them. */
const BATCHED: Record<string, { what: string; unit: string }> = {
  GetMany: { what: 'GetMany', unit: 'keys' },
  SetMany: { what: 'SetMany', unit: 'items' },
  Pipeline: { what: 'frame', unit: 'operations' },
};

/**
 * The Cache definition with a deserializer in front of each batched method's that counts the items
 * first (a scan of the top-level fields, no allocation) and returns a TooManyItems past
 * max_batch_keys, leaving everything else to the deserializer it wraps (strict-decode.ts's).
 */
export function withBatchBounds(
  service: grpc.ServiceDefinition,
  limits: RequestLimits,
): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const [name, { what, unit }] of Object.entries(BATCHED)) {
    const method = service[name];
    if (!method) throw new Error(`service has no method ${name}: proto/ out of date?`);
    const decode = method.requestDeserialize as (buf: Buffer) => unknown;
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer): unknown => {
        const scan = scanTopLevel(buf);
        const refusal = scan && batchRefusal(what, scan.repeated, unit, limits);
        return refusal
          ? new TooManyItems(scan.repeated, scan.field2, { ...refusal, requestBytes: buf.length })
          : decode(buf);
      },
    };
  }
  return out;
}

/**
 * Counts the occurrences of field 1 (length-delimited) in a protobuf message and reads the last
 * varint of field 2. Undefined for bytes that are not a well-formed message: the strict deserializer
 * then says what is wrong with them.
 */
export function scanTopLevel(buf: Uint8Array): { repeated: number; field2: number } | undefined {
  let pos = 0;
  let repeated = 0;
  let field2 = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = buf[pos++];
      if (b === undefined) return undefined;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (pos < buf.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      if (field === 2) field2 = v;
    } else if (wire === 2) {
      const length = varint();
      if (length === undefined || pos + length > buf.length) return undefined;
      pos += length;
      if (field === 1) repeated++;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else {
      return undefined;
    }
  }
  return pos === buf.length ? { repeated, field2 } : undefined;
}

/**
 * Resets a server call's HTTP/2 stream with ENHANCE_YOUR_CALM (the client reads RESOURCE_EXHAUSTED):
 * for a call whose status cannot leave because its client stopped reading, so flow control holds
 * the status behind the unsent messages and the node would keep them until the client hangs up.
 * False when grpc-js's layout is not the one expected (the call then ends when its client goes).
 */
export function resetStream(call: object): boolean {
  const stream = http2StreamOf(call);
  if (stream && !stream.destroyed) stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
  return stream !== undefined;
}

/**
 * Runs `onEnd` once a server call's HTTP/2 stream has closed: its reply sent and taken by the
 * connection, or the call cancelled. For what the node holds for a unary reply, which grpc-js keeps
 * until its client reads it and says nothing of. False when grpc-js's layout is not the one
 * expected; `onEnd` is then not called.
 */
export function onStreamClosed(call: object, onEnd: () => void): boolean {
  const stream = http2StreamOf(call);
  if (!stream) return false;
  if (stream.closed) onEnd();
  else stream.once('close', onEnd);
  return true;
}

type ServerHttp2Stream = import('node:http2').ServerHttp2Stream;

/**
 * The first of a call's objects in which `found` finds what it looks for. grpc-js has no public way
 * to reach a call's HTTP/2 stream or its decoder: this walks its call objects, from a handler's call
 * (ServerUnaryCall, ServerDuplexStream: `.call`) or an interceptor's (`.nextCall`), down to the base
 * call that holds both.
 */
function inCallChain<T>(call: object, found: (c: object) => T | undefined): T | undefined {
  let c: unknown = call;
  for (let depth = 0; depth < 9 && c && typeof c === 'object'; depth++) {
    const hit = found(c);
    if (hit !== undefined) return hit;
    const next = c as { call?: unknown; nextCall?: unknown };
    c = next.nextCall ?? next.call;
  }
  return undefined;
}

/** A call's HTTP/2 stream. */
export function http2StreamOf(call: object): ServerHttp2Stream | undefined {
  return inCallChain(call, (c) => {
    const stream = (c as { stream?: unknown }).stream as Partial<ServerHttp2Stream> | undefined;
    return stream && typeof stream.close === 'function' && 'rstCode' in stream
      ? (stream as ServerHttp2Stream)
      : undefined;
  });
}

/** What the node's connections and streams hold now, read at scrape time (registerStreamGauges). */
export interface StreamGauges {
  /** Watch streams open. */
  watchers(): number;
  /** Bytes written to streams and not yet taken by their connections, by kind of stream. */
  bufferedBytes(): { watch: number; pipeline: number };
  /** Connections open on the gRPC port (peers included). */
  connections(): number;
  /** Pipeline and PipelinePacked streams open. */
  pipelines(): number;
  /** Clients' messages whose reading waits for room in max_client_input_bytes (request-reads.ts). */
  readsWaiting(): number;
  /** Clients' new streams waiting for their turn to start (stream-pacing.ts). */
  streamsWaiting(): number;
}

/**
 * ringcache_watchers, ringcache_pipeline_streams, ringcache_stream_buffered_bytes{kind},
 * ringcache_connections and ringcache_client_reads_waiting.
 */
export function registerStreamGauges(registry: Registry, gauges: StreamGauges): void {
  new Gauge({
    name: 'ringcache_pipeline_streams',
    help: 'Pipeline and PipelinePacked streams open (limits.max_frames_in_flight and max_output_buffer_bytes each)',
    registers: [registry],
    collect() {
      this.set(gauges.pipelines());
    },
  });
  new Gauge({
    name: 'ringcache_watchers',
    help: 'Watch streams open (limits.max_watchers)',
    registers: [registry],
    collect() {
      this.set(gauges.watchers());
    },
  });
  new Gauge({
    name: 'ringcache_stream_buffered_bytes',
    help: 'Bytes written to streams and not yet sent, by kind of stream (limits.max_output_buffer_bytes each)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const { watch, pipeline } = gauges.bufferedBytes();
      this.set({ kind: 'watch' }, watch);
      this.set({ kind: 'pipeline' }, pipeline);
    },
  });
  new Gauge({
    name: 'ringcache_connections',
    help: 'Connections open on the gRPC port, peers included (limits.max_connections)',
    registers: [registry],
    collect() {
      this.set(gauges.connections());
    },
  });
  new Gauge({
    name: 'ringcache_client_reads_waiting',
    help: "Clients' messages whose reading waits for room in limits.max_client_input_bytes",
    registers: [registry],
    collect() {
      this.set(gauges.readsWaiting());
    },
  });
  new Gauge({
    name: 'ringcache_client_streams_waiting',
    help: "Clients' new streams waiting for their turn to start (32 start per turn of the event loop; a quarter of limits.max_client_calls at most)",
    registers: [registry],
    collect() {
      this.set(gauges.streamsWaiting());
    },
  });
}

/** How often a connection with calls open is pinged, and how long its answer may take. */
const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * The gRPC server's options from cluster.yml limits: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per
 * connection (the node advertised 2^32-1 before, and one connection held 5,000 Watch streams), a
 * connection with no call open for idle_timeout_ms is closed (a socket that never speaks included:
 * grpc-js starts its idle timer when the connection opens), and one with calls open is pinged every
 * minute and closed when a ping goes unanswered for 20 s.
 */
export function grpcServerOptions(
  limits: Pick<LimitsConfig, 'maxStreamsPerConnection' | 'idleTimeoutMs'>,
): grpc.ServerOptions {
  return {
    // For every call: clients' calls to the Cache service have their own (requestBytesInterceptor).
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
    'grpc.keepalive_time_ms': Math.min(KEEPALIVE_TIME_MS, limits.idleTimeoutMs),
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  };
}

/**
 * limits.max_request_bytes on clients' calls to the Cache service (a server interceptor). gRPC's own
 * cap (grpc.max_receive_message_length) is one for the whole server, and the Peer service on the same
 * port carries messages bounded less tightly (a read-modify-write round's accept carries the outcome
 * of every request it took, a ring state every member): so the server keeps 64 MiB, and a client's
 * call lowers its own before a byte of it is read. grpc-js's call checks each message's length on
 * its 5-byte header against two fields of its own, set here (grpc-js has no option per method); a
 * call forwarded by a node is left at 64 MiB, its size bounded where its client sent it. grpc-js
 * answers a message past them itself, RESOURCE_EXHAUSTED with its own words; the status is caught on
 * its way out so that it names the limit too, and `onRefused` counts it. A client's messages are
 * read within max_client_input_bytes as well (`requestReads`: request-reads.ts).
 */
export function requestBytesInterceptor(
  maxRequestBytes: number,
  isForwarded: (metadata: grpc.Metadata) => boolean,
  onRefused: (refusal: LimitRefusal) => void,
  requestReads: () => RequestReads | undefined,
): grpc.ServerInterceptor {
  return (method, call) => {
    const cache = method.path.startsWith('/ringcache.v1.Cache/');
    if (!cache && !HELD_OPEN.has(method.path)) return new grpc.ServerInterceptingCall(call);
    // The call's HTTP/2 stream, while its reads are followed (a client's call).
    let followed: ReturnType<typeof http2StreamOf>;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            if (!isForwarded(metadata)) {
              const base = baseCallOf(call);
              if (base && cache) capMessages(base, maxRequestBytes, onRefused);
              // Before grpc-js lets the stream flow, which it does once the metadata has passed.
              const stream = (followed = http2StreamOf(call));
              if (stream) {
                const end = (message: string) => endCall(base ?? call, stream, message);
                // Refused (max_client_calls): ended already, and its handler is never started.
                if (requestReads()?.watch(stream, method.requestStream, end, !cache) === false) return;
              }
            }
            pass(metadata);
          },
          // What a call reads once answered or cancelled, grpc-js drops: it is not held for.
          onCancel: () => requestReads()?.ended(followed),
        }),
      sendStatus: (status, next) => {
        requestReads()?.ended(followed);
        next(status);
      },
    });
  };
}

/**
 * Calls outside the Cache service that a client may keep open for as long as it likes: counted in
 * limits.max_client_calls with the Cache service's (each takes as much of a node), their reads not
 * followed. No node makes them to another.
 */
const HELD_OPEN: ReadonlySet<string> = new Set([
  '/ringcache.v1.Cluster/WatchTopology',
  '/grpc.health.v1.Health/Watch',
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
]);

/**
 * Ends a client's call that has answered nothing and is still sending (RequestReads refused to read
 * more of it): its status RESOURCE_EXHAUSTED with `message`, through grpc-js (trailers only), then
 * RST_STREAM NO_ERROR, HTTP/2's way of asking a client to stop sending a request already answered
 * (grpc-js would otherwise read and drop the rest of it). UNAVAILABLE in ringcache's own error code:
 * the call applied nothing, so the SDK may send it to another replica.
 */
function endCall(
  call: { sendStatus(status: { code: grpc.status; details: string; metadata: grpc.Metadata }): void },
  stream: ServerHttp2Stream,
  message: string,
): void {
  const trailers = new grpc.Metadata();
  trailers.set(METADATA.errorCode, 'UNAVAILABLE');
  call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: message, metadata: trailers });
  if (!stream.closed) stream.close(http2.NGHTTP2_NO_ERROR);
}

/** gRPC's words for a message past its receive limit: on its header, or once decompressed. */
const PAST_RECEIVE_LIMIT = /^Received message (larger than max|that decompresses to a size larger than)/;

/** What this file reaches of grpc-js's own call at the bottom of a call's chain (BaseServerInterceptingCall). */
interface BaseCall {
  decoder: { maxReadMessageLength: number };
  maxReceiveMessageSize: number;
  sendStatus: (status: { code: grpc.status; details?: string; metadata?: grpc.Metadata | null }) => void;
}

/**
 * grpc-js's own call under `call`, at the bottom of its chain of interceptors: a status sent there
 * goes out as it is, past any interceptor's own view of the call (one refused from its metadata, its
 * handler never started).
 */
function baseCallOf(call: object): BaseCall | undefined {
  return inCallChain(call, (c) => {
    const b = c as Partial<BaseCall>;
    return typeof b.decoder?.maxReadMessageLength === 'number' &&
      typeof b.maxReceiveMessageSize === 'number' &&
      typeof b.sendStatus === 'function'
      ? (b as BaseCall)
      : undefined;
  });
}

/** grpc-js's own call: its receive limit is set to `bytes`, and the status it sends for a message past it names the limit. */
function capMessages(base: BaseCall, bytes: number, onRefused: (refusal: LimitRefusal) => void): void {
  base.decoder.maxReadMessageLength = bytes;
  base.maxReceiveMessageSize = bytes; // a compressed message's size once decompressed
  const sendStatus = base.sendStatus;
  // Counted once per call: on a stream that has sent its headers, grpc-js ends the stream and waits
  // for its trailers, and each DATA chunk read meanwhile fails the same check and sends again.
  let counted = false;
  base.sendStatus = function (status) {
    if (status.code === grpc.status.RESOURCE_EXHAUSTED && PAST_RECEIVE_LIMIT.test(status.details ?? '')) {
      const refusal = requestBytesRefusal(status.details!, bytes);
      if (!counted) onRefused(refusal);
      counted = true;
      status = { ...status, details: refusal.message };
    }
    sendStatus.call(this, status);
  };
}

/** A client's message past max_request_bytes (`bytes`), refused by gRPC with its `details`. */
function requestBytesRefusal(details: string, bytes: number): LimitRefusal {
  return {
    limit: 'max_request_bytes',
    code: Code.RESOURCE_EXHAUSTED,
    message: `${details}; limits.max_request_bytes is ${bytes}`,
    warning: "clients' messages refused: larger than limits.max_request_bytes",
  };
}
