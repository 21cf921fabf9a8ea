import * as grpc from '@grpc/grpc-js';
import type { ErrorCode } from '../errors';
import { Code, METADATA } from '../proto/messages';

/**
 * The wire version this release speaks, on every call between clients and nodes and between nodes.
 * Bumped by a release that changes what is sent (a packed frame's fields, a Peer message, a header's
 * meaning); such a release sends the new form only to a side that states the new version.
 *
 * 1: every release before wire versions were stated (they send no header; absence means 1).
 * 2: the version is stated (METADATA.wireVersion, METADATA.wireMinVersion); frames as in 1, but
 *    for the second element of Peer Replicate and Read replies: the replica's ring epoch where 1 sent
 *    0. Version 1 never reads it, and a node reads 0 as "not stated" (no ring rule applied).
 * 3: Peer Compare: a request's fourth element (want) and a reply's fourth and fifth (building,
 *    ranges_only), which versions 1 and 2 neither send nor read (they send records whatever is
 *    asked, and are taken to); and a range's digest leaves out the tombstone flag, so ranges compared
 *    with a node of version 2 or older differ and are read whole until the upgrade ends. Also sent
 *    to every version, as older ones read past them: a Peer Replicate request may end with the
 *    frame's deadline (a number after the records, which are arrays), which versions 1 and 2 answer
 *    with one code more, past the records' codes, that the sender does not read; and a Peer Sync
 *    stream's last message may carry owed_peers and owed_rings, fields they do not know.
 */
export const WIRE_VERSION = 3;

/**
 * The oldest wire version this release still reads: the previous release's, so that a rolling upgrade
 * (old and new nodes side by side for minutes) never meets a side it cannot read. A release may raise
 * it only to the version of the release before it.
 */
export const MIN_WIRE_VERSION = 1;

/** The wire versions one side reads: from `min` to `version`, inclusive. */
export interface WireRange {
  readonly version: number;
  readonly min: number;
}

export const THIS_WIRE: WireRange = { version: WIRE_VERSION, min: MIN_WIRE_VERSION };

/** What a side that states no version speaks: a release from before versions were stated. */
const UNSTATED: WireRange = { version: 1, min: 1 };

/** Above any version we could reach: a larger number is garbage, not a future release. */
const MAX_VERSION = 1_000_000;

/** Why a header could not be read (the caller's mistake: INVALID_ARGUMENT). */
export class UnreadableWireHeader extends Error {}

function versionOf(value: grpc.MetadataValue | undefined, header: string): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : '';
  const n = /^[1-9][0-9]{0,6}$/.test(text) ? Number(text) : NaN;
  if (!(n <= MAX_VERSION))
    throw new UnreadableWireHeader(
      `${header} must be a wire version (a positive integer), not "${clip(text)}"`,
    );
  return n;
}

/**
 * The range a side states in `metadata`: none stated is version 1 (the previous release); a version
 * without a min reads only itself. Throws UnreadableWireHeader when either header is malformed.
 */
export function statedWire(metadata: grpc.Metadata): WireRange {
  const version = versionOf(metadata.get(METADATA.wireVersion)[0], METADATA.wireVersion);
  const min = versionOf(metadata.get(METADATA.wireMinVersion)[0], METADATA.wireMinVersion);
  if (version === undefined) {
    if (min !== undefined)
      throw new UnreadableWireHeader(`${METADATA.wireMinVersion} was sent without ${METADATA.wireVersion}`);
    return UNSTATED;
  }
  if (min !== undefined && min > version)
    throw new UnreadableWireHeader(
      `${METADATA.wireMinVersion} (${min}) is above ${METADATA.wireVersion} (${version})`,
    );
  return { version, min: min ?? version };
}

/** Whether two sides can talk: each speaks a version the other reads (then the lower one is used). */
export function compatible(a: WireRange, b: WireRange): boolean {
  return a.min <= b.version && b.min <= a.version;
}

export function describeWire(range: WireRange): string {
  return range.min === range.version
    ? `wire version ${range.version}`
    : `wire version ${range.version} (reads ${range.min} to ${range.version})`;
}

/** Writes this side's versions into outgoing metadata. */
export function stateWire(metadata: grpc.Metadata, range: WireRange = THIS_WIRE): void {
  metadata.set(METADATA.wireVersion, String(range.version));
  metadata.set(METADATA.wireMinVersion, String(range.min));
}

/** The message of a refusal: both sides' versions, and what to do. */
export function mismatchMessage(
  caller: string,
  callerRange: WireRange,
  node: string,
  nodeRange: WireRange,
): string {
  return (
    `incompatible ringcache releases: ${caller} speaks ${describeWire(callerRange)}, ` +
    `${node} speaks ${describeWire(nodeRange)}; upgrade one release at a time ` +
    `(a release talks to the one before and the one after it)`
  );
}

/** The stable error name sent with a refusal (x-ringcache-error), for clients that branch on it. */
export const WIRE_ERROR = 'WIRE_INCOMPATIBLE' satisfies ErrorCode;

/**
 * The error name of a failure that ended a whole stream, which carries none: a stream is refused
 * with FAILED_PRECONDITION only for its wire version (by the node or by this side), never for one of
 * its operations (a compare-and-set conflict is an operation's result).
 */
export function streamErrorName(code: number): ErrorCode | undefined {
  return code === Code.FAILED_PRECONDITION ? WIRE_ERROR : undefined;
}

export interface WireCheckOptions {
  /** For messages: "node n1". */
  selfName: string;
  /** Told once per distinct refused range (not per call: a refused client retries). */
  onRefused?: (caller: WireRange | undefined, peer: string, message: string) => void;
  /** What this node states; tests widen or narrow it. */
  range?: WireRange;
}

/** How many distinct refusals are remembered for logging once: enough for any real cluster. */
const REMEMBERED_REFUSALS = 64;

/**
 * A server interceptor that reads the caller's wire versions once per call (a stream is one call,
 * however many frames it carries) and refuses a caller this node cannot talk to with
 * FAILED_PRECONDITION naming both sides' versions, before any handler reads a byte of it. Every
 * answer states this node's versions in its response headers, so that a client can refuse a node
 * too new for it. A caller that states nothing is the previous release, accepted.
 */
export function wireVersionInterceptor(opts: WireCheckOptions): grpc.ServerInterceptor {
  const self = opts.range ?? THIS_WIRE;
  const told = new Set<string>();
  const refuse = (
    call: grpc.ServerInterceptingCallInterface,
    code: number,
    message: string,
    range?: WireRange,
  ) => {
    const key = range ? `${range.min}..${range.version}` : message;
    if (!told.has(key) && told.size < REMEMBERED_REFUSALS) {
      told.add(key);
      opts.onRefused?.(range, call.getPeer(), message);
    }
    const trailers = new grpc.Metadata();
    trailers.set(METADATA.errorCode, code === Code.FAILED_PRECONDITION ? WIRE_ERROR : 'INVALID_ARGUMENT');
    stateWire(trailers, self);
    call.sendStatus({ code, details: message, metadata: trailers });
  };
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            let caller: WireRange;
            try {
              caller = statedWire(metadata);
            } catch (err) {
              refuse(call, Code.INVALID_ARGUMENT, (err as Error).message);
              return;
            }
            if (!compatible(caller, self)) {
              refuse(
                call,
                Code.FAILED_PRECONDITION,
                mismatchMessage('the caller', caller, opts.selfName, self),
                caller,
              );
              return;
            }
            pass(metadata);
          },
        });
      },
      sendMetadata(metadata, next) {
        stateWire(metadata, self);
        next(metadata);
      },
    });
}

/**
 * A client interceptor that states this side's versions on every call, and fails a call whose node
 * states versions this side cannot read (a node more than one release newer) with
 * FAILED_PRECONDITION rather than misreading its answers. A node that states nothing is the
 * previous release.
 */
export function wireVersionClientInterceptor(range: WireRange = THIS_WIRE): grpc.Interceptor {
  return (options, nextCall) => {
    const call: grpc.InterceptingCall = new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, start) {
        stateWire(metadata, range);
        start(metadata, {
          onReceiveMetadata(headers, next) {
            const refusal = nodeRefusal(range, headers);
            // Cancelled first: grpc-js holds the status until the headers are passed on, and no
            // message of the node's gets through once the call is cancelled.
            if (refusal) call.cancelWithStatus(Code.FAILED_PRECONDITION, refusal);
            next(headers);
          },
        });
      },
    });
    return call;
  };
}

/** Why this side cannot read a node that answered with `headers`; undefined when it can. */
function nodeRefusal(range: WireRange, headers: grpc.Metadata): string | undefined {
  try {
    const node = statedWire(headers);
    return compatible(range, node) ? undefined : mismatchMessage('this client', range, 'the node', node);
  } catch (err) {
    return `the node's ${(err as Error).message}`;
  }
}

function clip(text: string): string {
  return text.length > 16 ? `${text.slice(0, 16)}…` : text;
}
