import * as grpc from '@grpc/grpc-js';
import { UnaryClient } from '../../src/cli/unary-client';
import type { TestCluster } from './cluster';

/**
 * An ordinary client beside a flood: a Set and a Get of its own small key on one node every 50 ms,
 * keeping every failure. Its deadline is far past any flood's length: what a test asserts is that
 * the node answers it, not how fast (latency belongs to bench:abuse).
 */
export class Victim {
  readonly failures: string[] = [];
  calls = 0;
  #running = true;
  readonly #done: Promise<void>;
  readonly #client: UnaryClient;

  constructor(address: string) {
    this.#client = new UnaryClient(address, 60_000);
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    const value = Buffer.from('victim');
    for (let i = 0; this.#running; i++) {
      const key = `victim/${i % 100}`;
      for (const [method, req] of [
        ['Set', { key, value }],
        ['Get', { key }],
      ] as const) {
        try {
          await this.#client.cache(method, req);
          this.calls++;
        } catch (err) {
          const e = err as grpc.ServiceError;
          this.failures.push(`${method}: ${grpc.status[e.code]} ${e.details}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops after the call in flight; the failures seen. */
  async stop(): Promise<string[]> {
    this.#running = false;
    await this.#done;
    this.#client.close();
    return this.failures;
  }
}

/** The log lines in which one of `peers` suspected node `id` (SWIM: no direct or indirect ack). */
export function suspicionsOf(t: TestCluster, id: string, peers: readonly string[]): string[] {
  return peers.flatMap((peer) =>
    (t.logs.get(peer) ?? []).filter((l) => l.includes('suspecting') && l.includes(`"member":"${id}"`)),
  );
}
