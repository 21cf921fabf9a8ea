import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { hostPortOrReason, type HostPort } from './address';
import { nearestName, type ConfigIssues } from './issues';
import { sizeOrReason } from './size';

/**
 * Typed reads from a parsed YAML document, each reporting a wrong value with its line and field path
 * (`nodes[1].address`) instead of throwing, so every problem in the file is listed at once. Reads
 * return undefined for an absent or null value (the caller applies the default) and for a wrong one
 * (already reported). Every field read records its line in `lines`, so checks across fields
 * (validate.ts) can point at it too.
 */
export class YamlReader {
  /** Field path -> 1-based line of its value (or of its key, when the value is empty). */
  readonly lines = new Map<string, number>();

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly issues: ConfigIssues,
  ) {}

  lineOf(node: Node | null | undefined): number | undefined {
    const start = node?.range?.[0];
    return start === undefined ? undefined : this.lineCounter.linePos(start).line;
  }

  /**
   * The fields of a map, keyed by name. Unknown names, duplicate names and non-string keys are
   * reported; so is a value that is not a map.
   */
  fields(
    node: Node | undefined,
    path: string,
    known: readonly string[],
  ): Map<string, Node | undefined> | undefined {
    const value = this.#resolve(node);
    if (value === undefined) return undefined;
    if (!isMap(value)) return this.#wrongType(value, path, 'a map');
    const out = new Map<string, Node | undefined>();
    for (const pair of value.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const keyLine = this.lineOf(pair.key as Node);
      if (typeof key !== 'string') {
        this.issues.add(keyLine, path, `field names must be plain words, got ${describe(pair.key)}`);
        continue;
      }
      const fieldPath = join(path, key);
      if (!known.includes(key)) {
        const hint = nearestName(key, known);
        const expected =
          hint === undefined ? `known fields are ${known.join(', ')}` : `did you mean ${hint}?`;
        this.issues.add(keyLine, fieldPath, `unknown field; ${expected}`);
        continue;
      }
      if (out.has(key)) {
        this.issues.add(keyLine, fieldPath, `appears twice (first on line ${this.lines.get(fieldPath)})`);
        continue;
      }
      const valueNode = (pair.value ?? undefined) as Node | undefined;
      const line = this.lineOf(valueNode) ?? keyLine;
      if (line !== undefined) this.lines.set(fieldPath, line);
      out.set(key, valueNode);
    }
    return out;
  }

  list(node: Node | undefined, path: string): (Node | undefined)[] | undefined {
    const value = this.#resolve(node);
    if (value === undefined) return undefined;
    if (!isSeq(value)) return this.#wrongType(value, path, 'a list');
    return value.items.map((item, i) => {
      const itemNode = item as Node | undefined;
      const line = this.lineOf(itemNode) ?? this.lineOf(value);
      if (line !== undefined) this.lines.set(`${path}[${i}]`, line);
      return itemNode;
    });
  }

  string(node: Node | undefined, path: string): string | undefined {
    const value = this.#scalar(node);
    if (value === undefined || typeof value === 'string') return value;
    const hint = typeof value === 'number' ? ` (quote it: "${String(value)}")` : '';
    return this.#wrongType(node, path, 'a string', hint);
  }

  /** A whole number (YAML integer); ranges are checked in validate.ts. */
  integer(node: Node | undefined, path: string): number | undefined {
    const value = this.#scalar(node);
    if (value === undefined || (typeof value === 'number' && Number.isSafeInteger(value))) return value;
    return this.#wrongType(node, path, 'a whole number');
  }

  boolean(node: Node | undefined, path: string): boolean | undefined {
    const value = this.#scalar(node);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.#wrongType(node, path, 'true or false');
  }

  /** A byte count: a number, or a string such as 256mb (size.ts). */
  size(node: Node | undefined, path: string): number | undefined {
    const value = this.#scalar(node);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' && typeof value !== 'string')
      return this.#wrongType(node, path, 'a size such as 256mb');
    const bytes = sizeOrReason(value);
    if (typeof bytes === 'number') return bytes;
    this.issues.add(this.lineOf(node), path, bytes);
    return undefined;
  }

  hostPort(node: Node | undefined, path: string): (HostPort & { text: string }) | undefined {
    const text = this.string(node, path);
    if (text === undefined) return undefined;
    const parsed = hostPortOrReason(text);
    if (typeof parsed !== 'string') return { ...parsed, text };
    this.issues.add(this.lineOf(node), path, parsed);
    return undefined;
  }

  /** One of `choices` (a string); anything else is reported, naming them. */
  oneOf<T extends string>(node: Node | undefined, path: string, choices: readonly T[]): T | undefined {
    const value = this.string(node, path);
    if (value === undefined || (choices as readonly string[]).includes(value)) return value as T | undefined;
    this.issues.add(this.lineOf(node), path, `must be ${choices.join(' or ')}, not ${value}`);
    return undefined;
  }

  /** Reports a problem the reading itself found (a field that needs another). */
  report(line: number | undefined, path: string, message: string): void {
    this.issues.add(line, path, message);
  }

  /** True for an absent field or an empty (null) value. */
  isEmpty(node: Node | undefined): boolean {
    return this.#resolve(node) === undefined;
  }

  /** Reports a required field that is absent, at the line of its parent. */
  missing(path: string, parentLine: number | undefined, what: string): undefined {
    this.issues.add(parentLine, path, `missing; expected ${what}`);
    return undefined;
  }

  /** The node behind an alias; undefined for an absent or null value. */
  #resolve(node: Node | undefined): Node | undefined {
    const value = node !== undefined && isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
    if (value === undefined || (isScalar(value) && value.value === null)) return undefined;
    return value;
  }

  #scalar(node: Node | undefined): unknown {
    const value = this.#resolve(node);
    if (value === undefined) return undefined;
    return isScalar(value) ? value.value : value;
  }

  #wrongType(node: Node | undefined, path: string, expected: string, hint = ''): undefined {
    const value = this.#resolve(node);
    this.issues.add(
      this.lineOf(node),
      path,
      `expected ${expected}, got ${describe(isScalar(value) ? value.value : value)}${hint}`,
    );
    return undefined;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A value as a person would name it in an error message. */
function describe(value: unknown): string {
  if (isMap(value)) return 'a map';
  if (isSeq(value)) return 'a list';
  if (isScalar(value)) return describe(value.value);
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return String(value);
}
