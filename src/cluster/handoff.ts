import type { Logger } from '../observability/logger';
import { Code } from '../proto/messages';
import type { ClusterView } from './cluster-view';
import type { HintStore } from './hints';
import { recordToMsg } from './record-codec';

export interface HandoffOptions {
  view: ClusterView;
  hints: HintStore;
  logger: Logger;
  /** Pause between handoff rounds. Default 500 ms. */
  intervalMs?: number;
  /** Hints sent to one target per round. Default 1024. */
  batch?: number;
}

/**
 * Hands hints back to their replicas once failure detection says they are alive again. A loop of
 * unref'd timeouts (never overlapping); `kick()` runs a round at once, e.g. when a member turns alive.
 */
export class HintedHandoff {
  readonly #opts: Required<HandoffOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #round: Promise<void> | undefined;
  /** Hints handed back since start. */
  handedOff = 0;

  constructor(opts: HandoffOptions) {
    this.#opts = { intervalMs: 500, batch: 1024, ...opts };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(this.#opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#round;
  }

  kick(): void {
    if (!this.#running || this.#round) return;
    clearTimeout(this.#timer);
    this.#arm(0);
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#round = this.#handOff()
        .catch((err: unknown) => this.#opts.logger.error({ err }, 'handoff round failed'))
        .finally(() => {
          this.#round = undefined;
          if (this.#running) this.#arm(this.#opts.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #handOff(): Promise<void> {
    const { view, hints, logger, batch } = this.#opts;
    for (const target of hints.targets()) {
      if (!view.isAlive(target)) continue;
      const entries = hints.peek(target, batch);
      const deadlineMs = Date.now() + 2000;
      const codes = await Promise.all(
        entries.map(([key, record]) => view.peer(target).replicate(recordToMsg(key, record), deadlineMs)),
      );
      let sent = 0;
      codes.forEach((code, i) => {
        if (code !== Code.OK) return;
        const [key, record] = entries[i]!;
        hints.remove(target, key, record);
        sent++;
      });
      this.handedOff += sent;
      if (sent > 0) logger.info({ target, sent, left: hints.countFor(target) }, 'hints handed off');
    }
  }
}
