import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import { ChangeKindWire, Code, type WatchEventMsg } from '../proto/messages';
import type { ChangeKind, ChangeListener } from '../store/change-feed';
import type { ClientOutputBudget } from './client-output';
import { resetStream, type LimitRefusal, type LimitRefusals } from './request-limits';

/**
 * Bytes an unsent WatchEvent holds besides its key: the event and version objects queued in the
 * call until it is serialized (about 3.5 times the ~50 bytes it takes on the wire; measured as 0.9
 * MB held per watcher for 256 KiB counted at wire size). The key's string is the store's, shared.
 */
const EVENT_HELD_BYTES = 200;

/**
 * How long a watcher ended for falling behind has to read what it was sent before its status: past
 * this the stream is reset, so that a client that never reads does not keep the node's buffer.
 */
const RESET_AFTER_MS = 5000;

/** What an unsent event counts in the limits: its objects and its key. */
const heldBytesOf = (event: WatchEventMsg): number => EVENT_HELD_BYTES + Buffer.byteLength(event.key);

/**
 * Events written to Watch streams per turn of the event loop, all watchers together (about 5 ms of
 * work). A write fans out to every watcher of its key's prefix in the store's change listener: a
 * SetMany of 1,000 keys with 200 watchers wrote 200,000 events in one turn, a second or more of a
 * loaded node's event loop in which it answered no peer's ping, and its peers suspected it.
 */
const EVENTS_PER_TURN = 1000;

/** A watcher with events queued: `write` writes up to `max` of them, and says how many it wrote. */
interface PumpedWatcher {
  write(max: number): number;
  pending(): boolean;
}

/**
 * Writes the watchers' queued events a turn of the event loop at a time, EVENTS_PER_TURN in all,
 * shared among the watchers that have some (each event still in order on its stream; what is queued
 * counts in the same limits as what is written and unsent).
 */
class EventPump {
  #ready: PumpedWatcher[] = [];
  readonly #listed = new Set<PumpedWatcher>();
  #scheduled = false;

  /** `watcher` has events queued: they are written from the next turn on. */
  ready(watcher: PumpedWatcher): void {
    if (!this.#listed.has(watcher)) {
      this.#listed.add(watcher);
      this.#ready.push(watcher);
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#scheduled = false;
    const ready = this.#ready;
    this.#ready = [];
    this.#listed.clear();
    let budget = EVENTS_PER_TURN;
    const share = Math.max(16, Math.ceil(EVENTS_PER_TURN / ready.length));
    for (const watcher of ready) {
      if (budget > 0) budget -= watcher.write(Math.min(share, budget));
      if (watcher.pending()) this.ready(watcher);
    }
  };
}

const KIND: Record<ChangeKind, number> = {
  set: ChangeKindWire.SET,
  delete: ChangeKindWire.DELETE,
  touch: ChangeKindWire.TOUCH,
};

export interface WatchServiceDeps {
  selfId: string;
  /** Subscribes to the store's changes; returns the unsubscribe. */
  listen(listener: ChangeListener): () => void;
  maxKeyBytes: number;
  /** limits.max_output_buffer_bytes: what one watcher may leave unread before its stream is ended. */
  maxOutputBufferBytes: number;
  /** limits.max_watchers: Watch streams open on this node at once. */
  maxWatchers: number;
  logger: Logger;
  /** Where refusals are counted (ringcache_limit_refusals_total{limit}) and warned about. */
  refusals?: LimitRefusals;
  /**
   * What the node holds for all its clients (max_client_output_bytes): events held count there, and
   * past it a watcher holding more than a small reply's worth is ended.
   */
  output?: ClientOutputBudget;
}

type WatchCall = grpc.ServerWritableStream<{ prefix: string }, WatchEventMsg>;

/**
 * Cache/Watch: a server stream of the changes this node's store applies, filtered by key prefix,
 * numbered. A watcher that leaves more than max_output_buffer_bytes unread loses its stream
 * (RESOURCE_EXHAUSTED naming the limit): its reader knows it missed events and starts again, and the
 * node never holds more than that for it. At most max_watchers streams are open at once.
 */
export function watchService(deps: WatchServiceDeps): {
  Watch: (call: WatchCall) => void;
  endWatches: () => void;
  /** Watch streams open now, those ended for falling behind included until their client is gone. */
  readonly watchers: number;
  /** Event bytes written to watchers and not yet taken by their connections. */
  readonly bufferedBytes: number;
} {
  const open = new Set<WatchCall>();
  const pump = new EventPump();
  let bufferedBytes = 0;
  const output = deps.output;
  const refuse = (call: WatchCall, refusal: LimitRefusal) => {
    deps.refusals?.note(refusal);
    // A status, not call.destroy(err): destroying the call sent none, and the client waited for its
    // deadline.
    call.emit('error', { code: refusal.code, details: refusal.message });
  };
  return {
    get watchers() {
      return open.size;
    },
    get bufferedBytes() {
      return bufferedBytes;
    },
    Watch: (call) => {
      const prefix = call.request.prefix ?? '';
      const prefixBytes = Buffer.byteLength(prefix);
      if (prefixBytes > deps.maxKeyBytes) {
        return refuse(call, {
          limit: 'max_key_bytes',
          code: Code.INVALID_ARGUMENT,
          message: `prefix is ${prefixBytes} bytes; limits.max_key_bytes is ${deps.maxKeyBytes}`,
        });
      }
      if (open.size >= deps.maxWatchers) {
        return refuse(call, {
          limit: 'max_watchers',
          code: Code.RESOURCE_EXHAUSTED,
          message: `this node has ${open.size} watchers open; limits.max_watchers is ${deps.maxWatchers}`,
          warning: 'watchers refused: too many open',
        });
      }
      let sequence = 0;
      /** This watcher's bytes written and not yet taken by its connection. */
      let unsent = 0;
      let resetTimer: NodeJS.Timeout | undefined;
      let gone = false;
      let fellBehind = false;
      /** Events counted in `unsent` and not yet written to the call: the pump writes them. */
      let queue: WatchEventMsg[] = [];
      let head = 0;
      const held = (bytes: number) => {
        unsent += bytes;
        bufferedBytes += bytes;
        if (output) output.bytes += bytes;
      };
      const watcher: PumpedWatcher = {
        write: (max) => {
          if (gone || fellBehind) return dropQueue();
          let written = 0;
          while (written < max && head < queue.length) {
            const event = queue[head++]!;
            const bytes = heldBytesOf(event);
            written++;
            call.write(event, () => {
              if (gone) return;
              held(-bytes);
            });
          }
          if (head === queue.length) dropQueue();
          return written;
        },
        pending: () => head < queue.length,
      };
      /** Forgets the events not written; their bytes too, unless close() took all `unsent` back. */
      const dropQueue = () => {
        if (!gone) for (let i = head; i < queue.length; i++) held(-heldBytesOf(queue[i]!));
        queue = [];
        head = 0;
        return 0;
      };
      const send = (event: WatchEventMsg) => {
        held(heldBytesOf(event));
        queue.push(event);
        pump.ready(watcher);
      };
      open.add(call);
      send({ sequence, key: '', kind: ChangeKindWire.UNSPECIFIED, version: null, node: deps.selfId });
      let stop: (() => void) | undefined = deps.listen((key, kind, version) => {
        if (!key.startsWith(prefix)) return;
        sequence++;
        if (unsent > deps.maxOutputBufferBytes) return fallBehind(streamLimit());
        // Past the node's budget for its clients, a watcher that holds more than a reader keeping up
        // would (a sixteenth of its own bound) is ended too: 200 stalled watchers, each within its
        // own bound, held 51 MiB together, past a budget of 32.
        if (output && unsent > deps.maxOutputBufferBytes / 16 && !output.allows(unsent))
          return fallBehind(output.refusal('watcher'));
        send({
          sequence,
          key,
          kind: KIND[kind],
          version: { timestamp: version.timestamp, node: version.node },
          node: deps.selfId,
        });
      });
      const streamLimit = (): LimitRefusal => ({
        limit: 'max_output_buffer_bytes',
        code: Code.RESOURCE_EXHAUSTED,
        message:
          `watcher fell behind: ${unsent} bytes of events held unread; ` +
          `limits.max_output_buffer_bytes is ${deps.maxOutputBufferBytes}`,
        warning: 'watchers ended: they read too slowly',
      });
      const fallBehind = (refusal: LimitRefusal) => {
        stop?.();
        stop = undefined;
        dropQueue();
        fellBehind = true;
        refuse(call, refusal);
        // The status waits behind the unread events; a reader that took them has it by now.
        resetTimer = setTimeout(() => resetStream(call), RESET_AFTER_MS);
        resetTimer.unref();
      };
      const close = () => {
        stop?.();
        stop = undefined;
        clearTimeout(resetTimer);
        open.delete(call);
        // A cancelled call never calls back for the events it still held.
        if (!gone) {
          bufferedBytes -= unsent;
          if (output) output.bytes -= unsent;
        }
        gone = true;
        dropQueue();
      };
      call.on('cancelled', close);
      call.on('close', close);
      // Its own refusal leaves the call counted until it is gone: it still holds its unsent events.
      call.on('error', () => fellBehind || close());
    },
    endWatches: () => {
      for (const call of open) call.end();
      open.clear();
    },
  };
}
