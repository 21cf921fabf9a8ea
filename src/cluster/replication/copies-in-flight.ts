/**
 * The bytes of values a coordinator has sent to other replicas and not yet had answered, each copy
 * counted until its replica acknowledges, refuses or the write's deadline passes (ReplicaWriter). A
 * write is answered once W replicas hold it, but its copies to the slower replicas stay in this
 * node's memory, encoded for the wire, until they leave: with 1 MiB sets at W = 2 through a node
 * whose third replica kept up less well, those copies took it past 150 MB while the requests still
 * in flight were 8 MB, and its memory guard evicted the store to make room for them. The node's
 * budget for its clients' requests (limits.max_client_input_bytes) counts these too: a client's
 * write holds its room until its last copy has gone, and a flood of writes is slowed or refused
 * instead of evicting the keys written before it.
 */
export class CopiesInFlight {
  /** Bytes of values in copies sent and not yet answered. */
  bytes = 0;
  readonly #onSettle: (() => void)[] = [];

  /** A copy of `bytes` is sent. */
  add(bytes: number): void {
    this.bytes += bytes;
  }

  /** A copy of `bytes` is answered (or given up): listeners are told. */
  settle(bytes: number): void {
    this.bytes -= bytes;
    for (const listener of this.#onSettle) listener();
  }

  /** Calls `listener` after every settled copy (a budget that stopped streams' reads resumes them). */
  onSettle(listener: () => void): void {
    this.#onSettle.push(listener);
  }
}
