import type * as grpc from '@grpc/grpc-js';
import type { TopologyResponseMsg } from '../proto/messages';
import { clusterMapOf, type ClusterMap, type TopologyClient } from './topology-client';

/**
 * Keeps a WatchTopology stream open to some live node and hands every message on as a ClusterMap.
 * When the stream ends or fails (the node died or drained), it reopens on the next address after a
 * short backoff, so member state changes reach the client within a second or so. Attempts in a row
 * that get no map (nodes refusing the stream, at their limits.max_client_calls, or unreachable) wait
 * twice as long each time, up to MAX_RETRY_MS: a full cluster is not asked ten times a second.
 */
export class TopologyWatch {
  readonly #client: TopologyClient;
  readonly #addresses: () => string[];
  readonly #onMap: (map: ClusterMap) => void;
  #stream: grpc.ClientReadableStream<TopologyResponseMsg> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** Attempts in a row whose stream ended before it brought a map. */
  #failures = 0;
  #running = false;
  #last: ClusterMap | undefined;

  constructor(client: TopologyClient, addresses: () => string[], onMap: (map: ClusterMap) => void) {
    this.#client = client;
    this.#addresses = addresses;
    this.#onMap = onMap;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#open();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#stream?.cancel();
    this.#stream = undefined;
  }

  #open(): void {
    const addresses = this.#addresses();
    if (addresses.length === 0) return this.#retry();
    const address = addresses[this.#attempt % addresses.length]!;
    const stream = this.#client.watch(address);
    this.#stream = stream;
    let answered = false;
    stream.on('data', (msg: TopologyResponseMsg) => {
      answered = true;
      this.#failures = 0;
      try {
        this.#last = clusterMapOf(msg, this.#last);
        this.#onMap(this.#last);
      } catch {
        // A malformed topology is ignored; the next message or node will do.
      }
    });
    const reopen = () => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#attempt++;
      if (!answered) this.#failures++;
      this.#retry();
    };
    stream.on('error', reopen);
    stream.on('end', reopen);
  }

  /** How long the next attempt waits: FIRST_RETRY_MS, twice as long after each that got no map. */
  get retryDelayMs(): number {
    return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, this.#failures - 1));
  }

  #retry(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => this.#open(), this.retryDelayMs);
    this.#timer.unref();
  }
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
