/** Bytes of values a large GetMany copies out of the store per turn of the event loop. */
export const READ_STEP_BYTES = 1024 * 1024;

/**
 * The turns of the event loop that large GetMany replies read their values in. A GetMany copies its
 * values out of the store as it reads them; up to READ_STEP_BYTES it does so at once, as any call.
 * Past that, the rest is read READ_STEP_BYTES per turn, one reply after another, node-wide: 32
 * GetMany of 30 MB each arriving together were 32 synchronous copies of 30 MB in a row (a second or
 * more), during which the node answered nobody, not even its peers' pings, which then suspected it.
 * Between two steps the node reads its sockets: the other callers and the peers are served, and the
 * large replies still get every turn the node has to spare.
 */
export class ReadTurns {
  /** Replies waiting for their turn, and reading (0 or 1): metrics and tests. */
  waiting = 0;
  reading = 0;
  #turn: Promise<unknown> = Promise.resolve();

  /** Runs `step` once per turn, after the replies before it, until it returns true (done). */
  run(step: () => boolean): Promise<void> {
    this.waiting++;
    const read = this.#turn.then(async () => {
      this.waiting--;
      this.reading++;
      try {
        while (!step()) await new Promise<void>((resolve) => setImmediate(resolve));
      } finally {
        this.reading--;
      }
    });
    this.#turn = read.catch(() => undefined);
    return read;
  }
}
