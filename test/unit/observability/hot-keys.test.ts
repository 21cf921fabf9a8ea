import { expect } from 'chai';
import { HotKeys, SpaceSaving } from '../../../src/observability/hot-keys';
import { seededRandom as seeded } from '../../support/seeded-random';

/** n items: each heavy key takes its share, the rest are distinct cold keys, all shuffled. */
function stream(n: number, heavy: Record<string, number>, random: () => number): string[] {
  const items: string[] = [];
  for (const [key, share] of Object.entries(heavy)) for (let i = 0; i < n * share; i++) items.push(key);
  for (let i = 0; items.length < n; i++) items.push(`cold:${i}`);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as string, items[i] as string];
  }
  return items;
}

describe('hot keys: space-saving sketch', () => {
  it('finds the heavy hitters among many distinct keys, each true count within [count - error, count]', () => {
    const heavy = { 'user:1': 0.2, 'user:2': 0.1, 'user:3': 0.05 };
    const items = stream(50_000, heavy, seeded(1));
    const sketch = new SpaceSaving({ capacity: 32, halveEvery: 1e9 });
    for (const k of items) sketch.add(k);
    const top = sketch.top(3);
    expect(top.map((t) => t.key)).to.deep.equal(['user:1', 'user:2', 'user:3']);
    for (const t of top) {
      const truth = items.filter((k) => k === t.key).length;
      expect(t.count - t.error).to.be.at.most(truth);
      expect(t.count).to.be.at.least(truth);
    }
  });

  it('keeps at most capacity counters however many distinct keys it sees', () => {
    const sketch = new SpaceSaving({ capacity: 8 });
    for (let i = 0; i < 100_000; i++) sketch.add(`k${i}`);
    expect(sketch.size).to.equal(8);
    expect(sketch.top()).to.have.length(8);
  });

  it('holds a key seen more than total/capacity times even when it arrives after a flood of others', () => {
    const sketch = new SpaceSaving({ capacity: 10, halveEvery: 1e9 });
    for (let i = 0; i < 9_000; i++) sketch.add(`early:${i}`);
    for (let i = 0; i < 1_100; i++) sketch.add('late');
    expect(sketch.top(1)[0]?.key).to.equal('late');
  });

  it('halves its counts as it goes, so a key hot now overtakes one that was hot before', () => {
    const sketch = new SpaceSaving({ capacity: 4, halveEvery: 100 });
    for (let i = 0; i < 1_000; i++) sketch.add('old');
    for (let i = 0; i < 300; i++) sketch.add('new');
    expect(sketch.top(1)[0]?.key).to.equal('new');
  });

  it('refuses a capacity or halving period that is not a positive integer', () => {
    expect(() => new SpaceSaving({ capacity: 0 })).to.throw(TypeError, /capacity/);
    expect(() => new SpaceSaving({ capacity: 1.5 })).to.throw(TypeError, /capacity/);
    expect(() => new SpaceSaving({ halveEvery: 0 })).to.throw(TypeError, /halveEvery/);
    expect(() => new HotKeys({ sampleEvery: 0 })).to.throw(TypeError, /sampleEvery/);
  });
});

describe('hot keys: sampled reads and writes', () => {
  it('finds the hottest reads and writes apart, with counts scaled back to operations', () => {
    const hot = new HotKeys({ sampleEvery: 16, random: seeded(7), halveEvery: 1e9 });
    const n = 200_000;
    for (const k of stream(n, { 'r:hot': 0.1, 'r:warm': 0.05 }, seeded(2))) hot.read(k);
    for (const k of stream(n, { 'w:hot': 0.1 }, seeded(3))) hot.write(k);
    const snap = hot.snapshot(2);
    expect(snap.reads.map((r) => r.key)).to.deep.equal(['r:hot', 'r:warm']);
    expect(snap.writes[0]?.key).to.equal('w:hot');
    // 20,000 reads of r:hot: about 1,250 sampled, so the estimate is well within a third.
    expect(snap.reads[0]?.count).to.be.within(n * 0.1 * 0.67, n * 0.1 * 1.33);
  });

  it('sees every key of a client cycling through a fixed set (the sampling gap is random, not a stride)', () => {
    const hot = new HotKeys({ sampleEvery: 16, random: seeded(11), capacity: 32 });
    for (let i = 0; i < 16 * 2_000; i++) hot.read(`cycle:${i % 16}`);
    expect(hot.snapshot().reads.map((r) => r.key)).to.have.length(16);
  });

  it('counts every operation with sampleEvery 1', () => {
    const hot = new HotKeys({ sampleEvery: 1 });
    for (let i = 0; i < 5; i++) hot.write('k');
    expect(hot.snapshot().writes).to.deep.equal([{ key: 'k', count: 5, error: 0 }]);
    expect(hot.snapshot().reads).to.deep.equal([]);
  });
});
