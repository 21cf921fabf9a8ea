import { closeSync, openSync, readSync } from 'node:fs';

/** Linux page sizes (x86-64 and most arm64: 4 KiB; some arm64 kernels 16 or 64 KiB; ppc64: 64 KiB). */
const PAGE_SIZES = [4096, 16_384, 65_536];

/**
 * Reads the process's resident set size (RSS) in bytes, as `process.memoryUsage.rss()` does, but
 * from /proc/self/statm on a file kept open. `rss()` opens and parses /proc/self/stat on every call,
 * which the kernel builds from every thread's state: on a busy node (V8's collector threads at work,
 * the cores shared) one read took 0.5-1 ms on average and up to 13 ms of the event loop, against
 * about a tenth of that for statm, whose second field is the resident pages. The memory guard reads
 * RSS every 50 ms under load. Where /proc is missing (not Linux), each read is `rss()`.
 */
export class ResidentMemory {
  #fd: number | undefined;
  readonly #buf = Buffer.alloc(256);
  readonly #pageSize: number;

  /** `statmPath`: tests point it elsewhere. */
  constructor(statmPath = '/proc/self/statm') {
    try {
      this.#fd = openSync(statmPath, 'r');
    } catch {
      this.#fd = undefined;
    }
    this.#pageSize = this.#fd === undefined ? 0 : this.#calibrate();
  }

  /** RSS in bytes. */
  bytes(): number {
    const pages = this.#fd === undefined ? undefined : this.#residentPages(this.#fd);
    return pages === undefined ? process.memoryUsage.rss() : pages * this.#pageSize;
  }

  /** Closes the file; later reads use `rss()`. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  /**
   * Node has no page size: it is the one that turns statm's pages into what `rss()` reads now. The
   * two reads are a moment apart, so the nearest of the kernel's page sizes is taken.
   */
  #calibrate(): number {
    const pages = this.#fd === undefined ? undefined : this.#residentPages(this.#fd);
    if (pages === undefined || pages === 0) {
      this.close();
      return 0;
    }
    const perPage = process.memoryUsage.rss() / pages;
    return PAGE_SIZES.reduce((best, size) =>
      Math.abs(size - perPage) < Math.abs(best - perPage) ? size : best,
    );
  }

  /** statm's second field (resident pages), or undefined if the file cannot be read as statm. */
  #residentPages(fd: number): number | undefined {
    let length: number;
    try {
      length = readSync(fd, this.#buf, 0, this.#buf.length, 0);
    } catch {
      return undefined;
    }
    // "size resident shared text lib data dt\n", all in pages.
    const text = this.#buf.toString('latin1', 0, length);
    const pages = Number(text.split(' ', 2)[1]);
    return Number.isInteger(pages) && pages >= 0 ? pages : undefined;
  }
}
