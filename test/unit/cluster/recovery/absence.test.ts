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
  /** Process start times: all started at 0 unless a test restarts one. */
  const incarnations = new Map<string, number>();
  const events: string[] = [];
  const w = new AbsenceWatch({
    selfId: members[0]!,
    scheduler: clock,
    limitMs,
    maxClockOffsetMs: 500,
    members: () => members,
    isAlive: (id) => alive.has(id),
    incarnation: (id) => incarnations.get(id) ?? 0,
    setAside: (awayMs) => events.push(`set aside ${awayMs}`),
    restore: (restarted) => events.push(`restore ${restarted.join(',')}`),
    discard: (awayMs) => events.push(`drop cut off ${awayMs}`),
    drop: (awayMs) => events.push(`drop paused ${awayMs}`),
    back: () => events.push('back'),
  });
  w.start();
  /** `id` comes back as a new process started at `atMs`. */
  const restart = (id: string, atMs: number) => {
    incarnations.set(id, atMs);
    alive.add(id);
    w.changed();
  };
  return { clock, alive, events, w, restart };
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

  it('sets aside the data of a node cut off past the limit, and drops it when the others stayed up', () => {
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
    expect(events).to.deep.equal(['set aside 10000']);
    expect(w.setAside).to.equal(true);
    clock.runTo(65_000);
    alive.add('n2');
    w.changed();
    w.changed();
    expect(events).to.deep.equal(['set aside 10000', 'drop cut off 35000', 'back']);
    expect([w.drops, w.restores]).to.deep.equal([1, 0]);
    expect(w.setAside).to.equal(false);
  });

  it('notices a pause past the limit as a request is served, before its tick fires', () => {
    // A process resumed after SIGSTOP reads its sockets before its timers fire: the request must
    // meet the dropped store, not the one from before the pause.
    const { clock, events, w } = watch(['n1', 'n2', 'n3']);
    clock.runTo(5000);
    clock.nowMs = 15_999; // the tick due at 6,000 has not fired: 9,999 ms late, under the limit
    w.checkPause();
    expect(events).to.deep.equal([]);
    clock.nowMs = 16_000; // a limit (10 s) late
    w.checkPause();
    // Dropped, then back at once: the others are reached (they are probed anew before trusted).
    expect(events).to.deep.equal(['drop paused 10000', 'back']);
    w.checkPause();
    clock.fireAt(17_000); // the tick armed by the check, on time
    expect(events, 'noticed once').to.deep.equal(['drop paused 10000', 'back']);
    expect(w.drops).to.equal(1);
    w.stop();
    clock.nowMs = 60_000;
    w.checkPause();
    expect(events, 'a stopped watch checks nothing').to.deep.equal(['drop paused 10000', 'back']);
  });

  it('keeps the data set aside when most of the other members restarted during the absence', () => {
    const { clock, alive, events, w, restart } = watch(['n1', 'n2', 'n3']);
    alive.delete('n2');
    alive.delete('n3');
    w.changed();
    clock.runTo(20_000);
    expect(events).to.deep.equal(['set aside 10000']);
    restart('n2', 19_000);
    expect(events, 'one of two others restarted: not enough to decide').to.deep.equal(['set aside 10000']);
    restart('n3', 19_500);
    expect(events).to.deep.equal(['set aside 10000', 'restore n2,n3', 'back']);
    expect([w.drops, w.restores]).to.deep.equal([0, 1]);
  });

  it('drops the data set aside when a member reached again stayed up, even if another restarted', () => {
    const { clock, alive, events, w, restart } = watch(['n1', 'n2', 'n3']);
    alive.delete('n2');
    alive.delete('n3');
    w.changed();
    clock.runTo(20_000);
    alive.add('n3');
    restart('n2', 19_000);
    expect(events).to.deep.equal(['set aside 10000', 'drop cut off 20000', 'back']);
  });

  it('counts no restart within the clock offset of the cut-off as one during the absence', () => {
    const { clock, alive, events, w, restart } = watch(['n1', 'n2', 'n3']);
    alive.delete('n2');
    alive.delete('n3');
    w.changed(); // cut off at 0; its peers' clocks may run up to 500 ms ahead
    clock.runTo(20_000);
    restart('n2', 499);
    expect(events).to.deep.equal(['set aside 10000', 'drop cut off 20000', 'back']);
  });

  it('weighs the members it does not reach yet: of five, three restarted ones decide', () => {
    const { clock, alive, events, w, restart } = watch(['n1', 'n2', 'n3', 'n4', 'n5']);
    for (const id of ['n2', 'n3', 'n4']) alive.delete(id);
    w.changed();
    clock.runTo(20_000);
    restart('n2', 15_000);
    restart('n3', 15_000);
    expect(events, 'two of four others: undecided').to.deep.equal(['set aside 10000']);
    restart('n4', 15_000);
    expect(events).to.deep.equal(['set aside 10000', 'restore n2,n3,n4', 'back']);
  });

  it('drops the data set aside when paused while undecided', () => {
    const { clock, alive, events, w, restart } = watch(['n1', 'n2', 'n3']);
    alive.delete('n2');
    alive.delete('n3');
    w.changed();
    clock.runTo(20_000);
    restart('n2', 19_000);
    clock.fireAt(clock.nowMs + 1000 + 10_000);
    // Its view of n2 is as old as the pause; it catches up once it reaches most members.
    expect(events).to.deep.equal(['set aside 10000', 'drop paused 10000', 'back']);
    expect(w.setAside).to.equal(false);
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
