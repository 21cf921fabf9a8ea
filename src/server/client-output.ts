import { Code } from '../proto/messages';
import type { LimitRefusal } from './request-limits';

/**
 * limits.max_client_output_bytes: what a node holds for all its clients' replies at once, as Redis's
 * maxmemory-clients bounds its clients' buffers together. max_reply_bytes bounds one reply and
 * max_output_buffer_bytes one stream, but nothing bounded their sum: eight GetMany of 30 MB at once
 * took a node of max_memory 64 MiB far past its RSS target, and the memory guard made room for them
 * by evicting the store. Past this budget a large reply is refused RESOURCE_EXHAUSTED naming it (and
 * a Watch that holds much is ended) instead.
 *
 * Counted: the values a GetMany or a Pipeline frame has read, from the read until its reply has left
 * (a GetMany's call has ended; a frame's reply messages are taken by the connection), and the events
 * written to Watch streams and not yet taken. One add and one subtract per reply: no allocation.
 *
 * The last eighth above the budget is kept for small replies (at most a sixty-fourth of it: 512 KiB
 * of 32 MiB), so ordinary reads are still answered while a few large replies hold the budget.
 */
export class ClientOutputBudget {
  /** Bytes held now for clients' replies and streams (ringcache_client_output_bytes). */
  bytes = 0;
  /** A reply of at most this many bytes may go past maxBytes, up to `#smallCeiling`. */
  readonly smallReplyBytes: number;
  readonly #smallCeiling: number;

  constructor(readonly maxBytes: number) {
    this.smallReplyBytes = Math.floor(maxBytes / 64);
    this.#smallCeiling = maxBytes + Math.floor(maxBytes / 8);
  }

  /** Whether a reply holding `ownBytes` (counted in `bytes` already) may hold them: false past the budget. */
  allows(ownBytes: number): boolean {
    return this.bytes <= (ownBytes <= this.smallReplyBytes ? this.#smallCeiling : this.maxBytes);
  }

  /**
   * The refusal of a reply past the budget: `what` is the request refused ('GetMany', 'frame'),
   * `heldBytes` what the node held when it passed (by default now).
   */
  refusal(what: string, heldBytes = this.bytes): LimitRefusal {
    return {
      limit: 'max_client_output_bytes',
      code: Code.RESOURCE_EXHAUSTED,
      message:
        `${what} refused: this node holds ${heldBytes} bytes of replies for its clients; ` +
        `limits.max_client_output_bytes is ${this.maxBytes}. Try again shortly, or ask for less at once`,
      warning: 'replies refused: the node holds too much for its clients',
    };
  }
}
