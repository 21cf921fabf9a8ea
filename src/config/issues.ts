import { RingCacheError } from '../errors';

/**
 * Problems found in one config source, each as `<source>:<line>: <field path>: <what was expected>`.
 * All problems are collected before throwing, so a person fixes a file in one pass, not one error
 * per run. A single problem reads exactly as one line, e.g.
 * `cluster.yml:9: nodes[1].address: expected host:port, got "127.0.0.1"`.
 */
export class ConfigIssues {
  readonly #found: { line: number; message: string }[] = [];

  constructor(readonly source: string) {}

  /** `line` is 1-based; undefined when the config has no text (generated) or the line is unknown. */
  add(line: number | undefined, path: string, message: string): void {
    const where = line === undefined ? this.source : `${this.source}:${line}`;
    this.#found.push({
      line: line ?? 0,
      message: path === '' ? `${where}: ${message}` : `${where}: ${path}: ${message}`,
    });
  }

  get count(): number {
    return this.#found.length;
  }

  /** Throws CONFIG_INVALID with every problem found so far, in file order (the sort is stable). */
  throwIfAny(): void {
    if (this.#found.length === 0) return;
    const sorted = [...this.#found].sort((a, b) => a.line - b.line);
    throw new RingCacheError('CONFIG_INVALID', [...new Set(sorted.map((f) => f.message))].join('\n'));
  }
}

/** The known name closest to `name` if it is a plausible typo (edit distance <= 1/3 of its length, min 2). */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, substitution));
    }
    prev = row;
  }
  return prev[b.length]!;
}
