import type { Logger } from '../../observability/logger';
import type { ClusterView } from '../cluster-view';
import type { HintStore } from './hints';

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
 * timeouts on the node's scheduler (unref'd when real; never overlapping); `kick()` runs a round at once, e.g. when a member turns alive.
 */
export class HintedHandoff {
  readonly #opts: Required<HandoffOptions>;
  #timer: unknown;
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
    this.#opts.view.scheduler.clearTimeout(this.#timer);
    await this.#round;
  }

  kick(): void {
    if (!this.#running || this.#round) return;
    this.#opts.view.scheduler.clearTimeout(this.#timer);
    this.#arm(0);
  }

  #arm(delayMs: number): void {
    this.#timer = this.#opts.view.scheduler.setTimeout(() => {
      this.#round = this.#handOff()
        .catch((err: unknown) => this.#opts.logger.error({ err }, 'handoff round failed'))
        .finally(() => {
          this.#round = undefined;
          if (this.#running) this.#arm(this.#opts.intervalMs);
        });
    }, delayMs);
  }

  async #handOff(): Promise<void> {
    const { view, hints, logger, batch } = this.#opts;
    for (const target of hints.targets()) {
      if (!view.isAlive(target)) continue;
      const entries = hints.peek(target, batch);
      const deadlineMs = view.scheduler.now() + 2000;
      const refusals = await Promise.all(
        entries.map(([key, record, madeBy]) =>
          view.transport.replicate(target, madeBy ? { key, record, madeBy } : { key, record }, deadlineMs),
        ),
      );
      let sent = 0;
      refusals.forEach((refused, i) => {
        if (refused) return;
        const [key, record] = entries[i]!;
        hints.remove(target, key, record);
        sent++;
      });
      this.handedOff += sent;
      if (sent > 0) logger.info({ target, sent, left: hints.countFor(target) }, 'hints handed off');
    }
  }
}
