import { Store } from '../../../src/store/store';
import type { Clock } from '../../../src/store/hlc';
import type { StoreOptions } from '../../../src/store/types';

/** A wall clock that moves only when a test advances it. */
export class FakeClock implements Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function makeStore(overrides: Partial<StoreOptions> = {}): { store: Store; clock: FakeClock } {
  const clock = new FakeClock();
  const store = new Store({
    nodeId: 'n1',
    maxMemoryBytes: 1 << 20,
    maxKeyBytes: 1024,
    maxValueBytes: 4096,
    clock,
    ...overrides,
  });
  return { store, clock };
}

export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
