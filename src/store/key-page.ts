/** One page of a walk over keys in sorted order (Cache/Scan): at most `count` keys past `after`. */
export interface KeyPage {
  keys: string[];
  /** Whether keys past the page's last one remain. */
  more: boolean;
}

/**
 * The `count` smallest keys that start with `prefix`, come after `after` (in JavaScript string
 * order) and whose entry `live` accepts, sorted. The keys are held in no order, so every page reads them
 * all; it keeps only the page (a max-heap of `count` keys), never a list of every match, so a node's
 * memory for a scan stays bounded by `count` however many keys match. A key present for the whole
 * walk is in exactly one page: the pages' ranges follow each other and do not overlap.
 */
export function keyPage<T>(
  entries: Iterable<[string, T]>,
  prefix: string,
  after: string,
  count: number,
  live: (entry: T) => boolean,
): KeyPage {
  const steps = keyPageSteps(entries, prefix, after, count, live, Infinity);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * keyPage in steps: the walk pauses (yields) after every `stepEntries` entries read, and returns the
 * page. Between two steps the node serves other calls: a page of a node holding millions of keys
 * reads them all, which took its event loop for hundreds of milliseconds at once. `entries` must
 * tolerate writes between steps (EntryTable.entries does: a key present for the whole walk is read once).
 */
export function* keyPageSteps<T>(
  entries: Iterable<[string, T]>,
  prefix: string,
  after: string,
  count: number,
  live: (entry: T) => boolean,
  stepEntries: number,
): Generator<void, KeyPage, void> {
  const heap: string[] = [];
  let more = false;
  let read = 0;
  for (const [key, entry] of entries) {
    if (++read >= stepEntries) {
      read = 0;
      yield;
    }
    if (!key.startsWith(prefix) || key <= after) continue;
    // Past a full page: it only says that more may follow (a dead one costs one empty page at most).
    if (heap.length === count && key >= heap[0]!) {
      more = true;
      continue;
    }
    if (!live(entry)) continue;
    if (heap.length < count) push(heap, key);
    else {
      more = true;
      replaceTop(heap, key);
    }
  }
  heap.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { keys: heap, more };
}

/** Adds `key` to the max-heap `heap`. */
function push(heap: string[], key: string): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! >= key) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = key;
}

/** Replaces the largest key of the max-heap `heap` with `key`. */
function replaceTop(heap: string[], key: string): void {
  const n = heap.length;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && heap[r]! > heap[l]! ? r : l;
    if (heap[c]! <= key) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = key;
}
