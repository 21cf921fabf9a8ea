import { UnaryClient } from '../../src/cli/unary-client';
import type {
  ExplainResponseMsg,
  GetResponseMsg,
  SetResponseMsg,
  DeleteResponseMsg,
} from '../../src/proto/messages';
import type { Version } from '../../src/store/version';
import { checkAll } from '../sim/checkers';
import { keysApart } from './replicas';
import type { FinalState, HistoryEntry, ReplicaCopy, Violation } from '../sim/history';

/**
 * The simulator's history and checkers over real processes: a workload of sets, deletes and quorum
 * reads sent over gRPC to each node in turn records what was acknowledged and read, with the
 * versions; Explain reads each replica's copy at the end, and the simulator's checkers judge it.
 */
export class Recorder {
  readonly history: HistoryEntry[] = [];
  readonly #clients = new Map<string, UnaryClient>();
  readonly #addresses = new Map<string, string>();
  readonly #factor: number;
  readonly #writeQuorum: number;

  constructor(nodes: { id: string; address: string }[], opts: { factor: number; writeQuorum: number }) {
    for (const n of nodes) {
      this.#clients.set(n.id, new UnaryClient(n.address, 2000));
      this.#addresses.set(n.id, n.address);
    }
    this.#factor = opts.factor;
    this.#writeQuorum = opts.writeQuorum;
  }

  get nodes(): string[] {
    return [...this.#clients.keys()];
  }

  /** One set (of a value no other write uses) or delete of `key` through `node`. */
  async write(kind: 'set' | 'delete', key: string, node: string): Promise<void> {
    const id = this.history.length + 1;
    const entry: HistoryEntry = {
      id,
      kind,
      key,
      node,
      required: this.#writeQuorum,
      factor: this.#factor,
      invokedAtMs: Date.now(),
      status: 'unknown',
    };
    this.history.push(entry);
    const c = this.#clients.get(node)!;
    try {
      if (kind === 'set') {
        entry.value = `v${id}`;
        const res = await c.cache<SetResponseMsg>('Set', { key, value: Buffer.from(entry.value), flags: 1 });
        entry.stored = res.stored;
        entry.version = versionOf(res.version);
      } else {
        const res = await c.cache<DeleteResponseMsg>('Delete', { key });
        entry.version = versionOf(res.version);
      }
      entry.status = 'ok';
    } catch (err) {
      // Whatever the error (QUORUM_NOT_MET, a deadline, a node cut off), the write may have been
      // applied somewhere: unknown, which the checkers never count as acknowledged.
      entry.error = String((err as { code?: number }).code ?? err);
    }
    entry.completedAtMs = Date.now();
  }

  /** One read of `key` at QUORUM through `node`: what it found, with its version. */
  async read(key: string, node: string): Promise<void> {
    const entry: HistoryEntry = {
      id: this.history.length + 1,
      kind: 'get',
      key,
      node,
      required: Math.floor(this.#factor / 2) + 1, // QUORUM: a majority of N
      factor: this.#factor,
      invokedAtMs: Date.now(),
      status: 'unknown',
    };
    this.history.push(entry);
    try {
      const res = await this.#clients
        .get(node)!
        .cache<GetResponseMsg>('Get', { key, consistency: 2 /* QUORUM */ });
      entry.found = res.found;
      if (res.found) {
        entry.readValue = res.value.toString();
        entry.readVersion = versionOf(res.version);
      }
      entry.status = 'ok';
    } catch (err) {
      entry.error = String((err as { code?: number }).code ?? err);
    }
    entry.completedAtMs = Date.now();
  }

  /** Each replica's copy of every key, asked through `via`'s Explain (not through a coordinator). */
  async replicas(keys: readonly string[], via: string): Promise<Map<string, ReplicaCopy[]>> {
    const c = this.#clients.get(via)!;
    const out = new Map<string, ReplicaCopy[]>();
    for (let i = 0; i < keys.length; i += 50) {
      const batch = await Promise.all(
        keys.slice(i, i + 50).map((key) => c.cluster<ExplainResponseMsg>('Explain', { key })),
      );
      for (const e of batch) {
        out.set(
          e.key,
          e.replicas.map((r) =>
            r.holds
              ? { node: r.nodeId, version: versionOf(r.version), tombstone: r.tombstone }
              : { node: r.nodeId },
          ),
        );
      }
    }
    return out;
  }

  /** Keys whose replicas do not all hold the same version (or one holds none). */
  apart(keys: readonly string[], via: string): Promise<string[]> {
    return keysApart(this.#addresses.get(via)!, keys);
  }

  /** The final state the checkers need: a quorum read of every key, and every replica's copy. */
  async final(keys: readonly string[], via: string): Promise<FinalState> {
    const c = this.#clients.get(via)!;
    const reads = new Map<string, { found: boolean; value?: string; version?: Version }>();
    for (const key of keys) {
      const res = await c.cache<GetResponseMsg>('Get', { key, consistency: 2 /* QUORUM */ });
      reads.set(
        key,
        res.found
          ? { found: true, value: res.value.toString(), version: versionOf(res.version) }
          : { found: false },
      );
    }
    return { reads, replicas: await this.replicas(keys, via), counters: new Map() };
  }

  async check(keys: readonly string[], via: string): Promise<Violation[]> {
    return checkAll(this.history, await this.final(keys, via));
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
  }
}

function versionOf(v: { timestamp: number; node: string } | null | undefined): Version | undefined {
  return v && v.node ? { timestamp: v.timestamp, node: v.node } : undefined;
}
