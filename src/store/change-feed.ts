import type { Version } from './version';

/** What happened to a key: a new value (set, incr, cas, a replica write), a delete, a new TTL. */
export type ChangeKind = 'set' | 'delete' | 'touch';

export type ChangeListener = (key: string, kind: ChangeKind, version: Version) => void;

/**
 * The store's changes, for whoever listens (Cache/Watch streams). With no listener an
 * emit is one size check: the write path pays nothing for a feature nobody uses.
 */
export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>();

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  listen(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(key: string, kind: ChangeKind, version: Version): void {
    if (this.#listeners.size === 0) return;
    for (const l of this.#listeners) l(key, kind, version);
  }
}
