import { expect } from 'chai';
import type { Scheduler } from '../../../../src/cluster/membership/types';
import { AbsenceWatch, absenceLimitMs } from '../../../../src/cluster/recovery/absence';

/** One timer at a time, fired by hand at the time given: enough for the watch's one-second tick. */
class HandClock implements Scheduler {
  nowMs = 0;
  #fn: (() => void) | undefined;
  now(): number {
    return this.nowMs;
  }
  setTimeout(fn: () => void): unknown {
    this.#fn = fn;
    return 1;
  }
  clearTimeout(): void {
    this.#fn = undefined;
  }
  /** Ticks once a second until `untilMs`, as a running process's timer would. */
  runTo(untilMs: number): void {
    while (this.nowMs + 1000 <= untilMs) this.fireAt(this.nowMs + 1000);
  }
  /** The timer fires at `atMs`: late, when the process was paused. */
  fireAt(atMs: number): void {
    this.nowMs = atMs;
    const fn = this.#fn;
    this.#fn = undefined;
    fn?.();
  }
}

const GOSSIP = { probeIntervalMs: 500, probeTimeoutMs: 300, indirectProbes: 1, suspicionTimeoutMs: 1500 };

function watch(members: string[], limitMs = 10_000) {
  const clock = new HandClock();
  const alive = new Set(members);
  const events: string[] = [];
  const w = new AbsenceWatch({
    selfId: members[0]!,
    scheduler: clock,
    limitMs,
    members: () => members,
    isAlive: (id) => alive.has(id),
    drop: (awayMs, why) => events.push(`drop ${why} ${awayMs}`),
    back: () => events.push('back'),
  });
  w.start();
  return { clock, alive, events, w };
}

describe('AbsenceWatch (deletes and long absences)', () => {
  it('allows half the grace less failure detection; with anti-entropy off, no longer than hints live', () => {
    const base = { members: 3, gossip: GOSSIP, tombstoneGraceMs: 60_000 };
    // 3 members: 500 + 500 + 600 + 1500 ms to see a member dead.
    expect(absenceLimitMs({ ...base, hintMaxAgeMs: 10_000, antiEntropy: true })).to.equal(30_000 - 3100);
    expect(absenceLimitMs({ ...base, hintMaxAgeMs: 10_000, antiEntropy: false })).to.equal(10_000 - 3100);
    expect(absenceLimitMs({ ...base, hintMaxAgeMs: 40_000, antiEntropy: false })).to.equal(30_000 - 3100);
    const short = { ...base, tombstoneGraceMs: 2000, hintMaxAgeMs: 1000, antiEntropy: true };
    expect(absenceLimitMs(short), 'never below a tick').to.equal(1000);
  });

  it('drops the data of a node cut off from most members past the limit, and brings it back once', () => {
    const { clock, alive, events, w } = watch(['n1', 'n2', 'n3']);
    alive.delete('n2');
    w.changed();
    clock.runTo(30_000);
    expect(events, 'one of three down: most members reached').to.deep.equal([]);
    alive.delete('n3');
    w.changed();
    clock.runTo(39_000);
    expect(events, 'before the limit').to.deep.equal([]);
    clock.runTo(60_000);
    expect(events).to.deep.equal(['drop cut off 10000']);
    alive.add('n2');
    w.changed();
    w.changed();
    expect(events).to.deep.equal(['drop cut off 10000', 'back']);
    expect(w.drops).to.equal(1);
  });

  it('keeps the data of a node that returns before the limit', () => {
    const { clock, alive, events, w } = watch(['n1', 'n2', 'n3']);
    alive.clear();
    w.changed();
    clock.runTo(9000);
    alive.add('n2');
    w.changed();
    clock.runTo(60_000);
    expect(events).to.deep.equal([]);
  });

  it('never counts half the members as cut off (two nodes, or two of four)', () => {
    const two = watch(['n1', 'n2']);
    two.alive.delete('n2');
    two.w.changed();
    two.clock.runTo(60_000);
    expect(two.events).to.deep.equal([]);
    const four = watch(['n1', 'n2', 'n3', 'n4']);
    four.alive.delete('n3');
    four.alive.delete('n4');
    four.w.changed();
    four.clock.runTo(60_000);
    expect(four.events).to.deep.equal([]);
  });

  it('drops the data of a node whose own timer fired past the limit late (paused), then catches up', () => {
    const { clock, events } = watch(['n1', 'n2', 'n3']);
    clock.runTo(5000);
    clock.fireAt(5000 + 1000 + 9000);
    expect(events, 'late, but within the limit').to.deep.equal([]);
    clock.fireAt(clock.nowMs + 1000 + 10_000);
    expect(events).to.deep.equal(['drop paused 10000', 'back']);
  });
});
