/**
 * The one progress line on stderr: what runs now and roughly how long is left. On a terminal it is
 * rewritten in place; into a pipe (CI) only changes of phase are printed, one per line.
 */
export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #lastPhase = '';

  /** `phase` is what changed (system, point, repeat); `detail` is what ticks (seconds left). */
  update(phase: string, detail = ''): void {
    if (this.#tty) {
      process.stderr.write(`\r\x1b[K${phase}${detail ? ` ${detail}` : ''}`);
    } else if (phase !== this.#lastPhase) {
      process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${phase}\n`);
    }
    this.#lastPhase = phase;
  }

  /** Prints a message on its own line (the progress line is redrawn by the next update). */
  say(message: string): void {
    process.stderr.write(`${this.#tty ? '\r\x1b[K' : ''}${message}\n`);
    this.#lastPhase = '';
  }

  done(): void {
    if (this.#tty) process.stderr.write('\r\x1b[K');
  }
}

export function formatSeconds(s: number): string {
  const total = Math.max(0, Math.round(s));
  const m = Math.floor(total / 60);
  return m > 0 ? `${m}m${String(total % 60).padStart(2, '0')}s` : `${total}s`;
}
