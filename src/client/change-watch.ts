import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../proto/load';
import type { WatchEventMsg } from '../proto/messages';
import { CHANNEL_OPTIONS } from '../transport/pipeline-connection';
import { channelCredentials, withTls, type TlsOptions } from '../transport/tls';
import { withUserToken } from '../transport/user-token';

type CacheStub = grpc.Client & {
  Watch(req: { prefix: string }): grpc.ClientReadableStream<WatchEventMsg>;
};

interface Watched {
  address: string;
  stub: CacheStub;
  stream: grpc.ClientReadableStream<WatchEventMsg> | undefined;
  /** Sequence number of the last event; -1 until the stream's first event confirms it is open. */
  last: number;
  timer: NodeJS.Timeout | undefined;
  backoffMs: number;
}

export interface ChangeWatchHandlers {
  /** A key changed on some node. */
  onChange(key: string): void;
  /** Whether every node's stream is open and has missed nothing since (false: changes may be lost). */
  onLive(live: boolean): void;
  /** TLS to the nodes; plaintext when unset. */
  tls?: TlsOptions;
  /** A user's token (cluster.yml `auth`), sent on every stream. */
  token?: string;
}

/**
 * One Cache/Watch stream to every member, for the near cache: a change reaches the
 * client from each replica that applies it. A stream that ends, fails or skips a sequence number
 * makes the watch not live (the near cache empties) until it is open again and confirmed by its first
 * event; it reopens after 100 ms, doubling to 2 s. Like the topology watch, the streams stay open
 * until RingCache.close().
 */
export class ChangeWatch {
  readonly #handlers: ChangeWatchHandlers;
  readonly #nodes = new Map<string, Watched>();
  #running = true;
  #live = false;

  constructor(handlers: ChangeWatchHandlers) {
    this.#handlers = handlers;
  }

  /** Watches exactly these members (id -> address); a changed set of members is not live until all confirm. */
  watch(members: ReadonlyMap<string, string>): void {
    if (!this.#running) return;
    let changed = false;
    for (const [id, w] of this.#nodes) {
      if (members.get(id) === w.address) continue;
      this.#close(w);
      this.#nodes.delete(id);
      changed = true;
    }
    for (const [id, address] of members) {
      if (this.#nodes.has(id)) continue;
      const { Cache } = loadServices();
      const stub = new Cache(
        address,
        channelCredentials(this.#handlers.tls),
        withTls(withUserToken(CHANNEL_OPTIONS, this.#handlers.token), this.#handlers.tls),
      ) as unknown as CacheStub;
      const w: Watched = { address, stub, stream: undefined, last: -1, timer: undefined, backoffMs: 100 };
      this.#nodes.set(id, w);
      this.#open(w);
      changed = true;
    }
    if (changed) this.#update();
  }

  stop(): void {
    this.#running = false;
    for (const w of this.#nodes.values()) {
      this.#close(w);
      w.stub.close();
    }
    this.#nodes.clear();
    this.#update();
  }

  #open(w: Watched): void {
    const stream = w.stub.Watch({ prefix: '' });
    w.stream = stream;
    w.last = -1;
    stream.on('data', (e: WatchEventMsg) => {
      if (w.stream !== stream) return;
      if (w.last === -1) {
        // The first event confirms the stream; its sequence starts the count.
        w.last = e.sequence;
        w.backoffMs = 100;
        this.#update();
        return;
      }
      if (e.sequence !== w.last + 1) {
        // Events were dropped: what the near cache holds may be stale.
        w.last = e.sequence;
        this.#handlers.onLive(false);
        this.#live = false;
        this.#update();
      } else w.last = e.sequence;
      if (e.key) this.#handlers.onChange(e.key);
    });
    const broken = () => {
      if (w.stream !== stream) return;
      w.stream = undefined;
      w.last = -1;
      this.#update();
      if (!this.#running) return;
      w.timer = setTimeout(() => this.#open(w), w.backoffMs);
      w.timer.unref();
      w.backoffMs = Math.min(2000, w.backoffMs * 2);
    };
    stream.on('error', broken);
    stream.on('end', broken);
  }

  #close(w: Watched): void {
    clearTimeout(w.timer);
    const s = w.stream;
    w.stream = undefined;
    s?.cancel();
  }

  #update(): void {
    const live = this.#running && this.#nodes.size > 0 && [...this.#nodes.values()].every((w) => w.last >= 0);
    if (live !== this.#live) {
      this.#live = live;
      this.#handlers.onLive(live);
    }
  }
}
