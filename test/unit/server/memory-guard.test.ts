import { expect } from 'chai';
import pino from 'pino';
import { MemoryGuard, rssTargetOf, type MemoryGuardOptions } from '../../../src/server/memory-guard';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

/** A process of `footprint` store bytes and `rest` others, of which `garbage` a collection frees. */
function modelProcess(m: { footprint: number; rest: number; garbage: number }) {
  return {
    readRss: () => m.footprint + m.rest,
    storeFootprintBytes: () => m.footprint,
    collect: () => {
      m.rest -= m.garbage;
      m.garbage = 0;
    },
  };
}

function guardOf(
  opts: Partial<MemoryGuardOptions> & Pick<MemoryGuardOptions, 'targetBytes' | 'maxMemoryBytes'>,
) {
  const pressures: number[] = [];
  const guard = new MemoryGuard({
    storeFootprintBytes: () => 0,
    setPressure: (b) => pressures.push(b),
    logger: silent,
    intervalMs: 5,
    ...opts,
  });
  return { guard, pressures };
}

describe('MemoryGuard (issue 12 §6)', () => {
  it('targets 1.3 x max_memory, and for small stores at least max_memory + 72 MiB and 160 MiB', () => {
    expect(rssTargetOf(1024 * MiB)).to.equal(1.3 * 1024 * MiB);
    expect(rssTargetOf(256 * MiB)).to.equal(1.3 * 256 * MiB);
    expect(rssTargetOf(128 * MiB)).to.equal(200 * MiB);
    expect(rssTargetOf(64 * MiB)).to.equal(160 * MiB);
  });

  it('collects when RSS is above its target, at most once per gap', async () => {
    const { guard } = guardOf({
      targetBytes: 1,
      maxMemoryBytes: 1,
      intervalMs: 10,
      minGapMs: 50,
      collect: () => undefined,
    });
    guard.start();
    try {
      await new Promise((r) => setTimeout(r, 180));
      expect(guard.collections).to.be.within(2, 4);
    } finally {
      guard.stop();
    }
    const after = guard.collections;
    await new Promise((r) => setTimeout(r, 60));
    expect(guard.collections, 'none after stop').to.equal(after);
  });

  it('does nothing while the store and the rest of the process fit', async () => {
    const m = { footprint: 50 * MiB, rest: 30 * MiB, garbage: 0 };
    const { guard, pressures } = guardOf({
      targetBytes: 200 * MiB,
      maxMemoryBytes: 150 * MiB,
      ...modelProcess(m),
    });
    guard.start();
    await new Promise((r) => setTimeout(r, 50));
    guard.stop();
    expect(guard.collections).to.equal(0);
    expect(pressures).to.deep.equal([]);
  });

  // At 76fb3f3 the guard acted only once RSS had passed the target: a store filling up for the
  // first time took a node at max_memory 256 MiB to 1.48 x in RSS before it held less.
  it('makes the store leave room for the rest of the process before the store has filled up', async () => {
    // The store holds 20 MiB of its 150; the rest takes 60. Full, RSS would be 210 of a 200 target.
    const m = { footprint: 20 * MiB, rest: 60 * MiB, garbage: 0 };
    const { guard } = guardOf({ targetBytes: 200 * MiB, maxMemoryBytes: 150 * MiB, ...modelProcess(m) });
    guard.start();
    try {
      await until(() => guard.pressureBytes > 0);
      // Aimed at 90% of the target: 180 MiB = 60 for the rest and 120 for the store.
      expect(guard.pressureBytes / MiB).to.equal(30);
      expect(guard.restBytes).to.equal(60 * MiB);
      expect(guard.collections, 'RSS never passed the target').to.equal(0);
    } finally {
      guard.stop();
    }
  });

  it('holds the pressure for the peak of the rest over its window, then gives it back at once', async () => {
    const m = { footprint: 100 * MiB, rest: 90 * MiB, garbage: 0 };
    const { guard, pressures } = guardOf({
      targetBytes: 200 * MiB,
      maxMemoryBytes: 150 * MiB,
      windowMs: 1000,
      ...modelProcess(m),
    });
    guard.start();
    try {
      await until(() => guard.pressureBytes === 60 * MiB);
      m.rest = 30 * MiB; // the burst is over
      await new Promise((r) => setTimeout(r, 200));
      expect(guard.pressureBytes / MiB, 'within the window').to.equal(60);
      await until(() => guard.pressureBytes === 0);
      expect(pressures.at(-1)).to.equal(0);
    } finally {
      guard.stop();
    }
  });

  it('collects when RSS nears the target, spaced by twenty times what a collection takes', async () => {
    const m = { footprint: 100 * MiB, rest: 85 * MiB, garbage: 0 }; // 185 MiB: past 90% of 200
    const { guard } = guardOf({
      targetBytes: 200 * MiB,
      maxMemoryBytes: 150 * MiB,
      minGapMs: 10,
      ...modelProcess(m),
      collect: () => {
        const until = performance.now() + 5;
        while (performance.now() < until); // a collection of 5 ms: one per 100 ms at most
      },
    });
    guard.start();
    try {
      await new Promise((r) => setTimeout(r, 330));
      expect(guard.collections).to.be.within(2, 4);
    } finally {
      guard.stop();
    }
  });

  it('does not add up pressure while the store is slow to give memory back', async () => {
    // The store evicts, but its arena's memory comes back only later: the footprint stays.
    const m = { footprint: 150 * MiB, rest: 80 * MiB, garbage: 0 };
    const { guard, pressures } = guardOf({
      targetBytes: 200 * MiB,
      maxMemoryBytes: 150 * MiB,
      maxPressureBytes: 75 * MiB,
      ...modelProcess(m),
    });
    guard.start();
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(new Set(pressures), 'one value, asked for once').to.deep.equal(new Set([50 * MiB]));
      expect(pressures).to.have.length(1);
    } finally {
      guard.stop();
    }
  });

  // At 631fbf0 a burst of 1 MiB values left 54 MiB of garbage that no allocation made V8 collect,
  // and the store held a quarter less than max_memory for good.
  it('collects garbage left after a burst while the store holds less, and then gives the pressure back', async () => {
    const m = { footprint: 60 * MiB, rest: 90 * MiB, garbage: 0 }; // RSS 150 MiB: under 90% of the target
    const { guard } = guardOf({
      targetBytes: 200 * MiB,
      maxMemoryBytes: 150 * MiB,
      windowMs: 200,
      reclaimGapMs: 40,
      ...modelProcess(m),
    });
    guard.start();
    try {
      await until(() => guard.pressureBytes === 60 * MiB);
      // The burst ends with 60 MiB of garbage, RSS under the target: only a collection finds it out.
      Object.assign(m, { rest: 90 * MiB, garbage: 60 * MiB });
      await until(() => guard.pressureBytes === 0);
      expect(guard.collections, 'one collection to free it').to.equal(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(guard.collections, 'none with nothing new to free').to.equal(1);
    } finally {
      guard.stop();
    }
  });
});

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done(), 'condition reached within 2 s').to.equal(true);
}
