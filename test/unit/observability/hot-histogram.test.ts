import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { HotHistogram } from '../../../src/observability/hot-histogram';

const BOUNDS = [0.001, 0.01, 0.1, 1];

describe('HotHistogram: a histogram observed on the hot path', () => {
  it("reads in a registry exactly as prom-client's Histogram does for the same observations", async () => {
    const hot = new HotHistogram('frame_seconds', 'Frames', ['peer', 'stream'], BOUNDS);
    const theirs = new Histogram({
      name: 'frame_seconds',
      help: 'Frames',
      labelNames: ['peer', 'stream'],
      buckets: BOUNDS,
      registers: [],
    });
    const observations: [string, string, number][] = [
      ['n2', 'replicate', 0],
      ['n2', 'replicate', 0.001], // on a bound: counted in it (le)
      ['n2', 'replicate', 0.05],
      ['n3', 'read', 7], // past the highest bound: +Inf only
      ['n2', 'replicate', 0.5],
      ['n3', 'read', 0.002],
    ];
    hot.series({ peer: 'n3', stream: 'lookup' }); // taken, never observed: not shown, as prom-client's
    for (const [peer, stream, v] of observations) {
      hot.series({ peer, stream }).observe(v);
      theirs.labels({ peer, stream }).observe(v);
    }
    const mine = new Registry();
    mine.setDefaultLabels({ node: 'n1' });
    mine.registerMetric(hot.asMetric());
    const reference = new Registry();
    reference.setDefaultLabels({ node: 'n1' });
    reference.registerMetric(theirs);
    const text = await mine.metrics();
    expect(text).to.equal(await reference.metrics());
    expect(text).to.include('frame_seconds_bucket{le="+Inf",node="n1",peer="n3",stream="read"} 2');
  });

  it('keeps one series per label set, and a series held before a reset goes on counting', async () => {
    const hot = new HotHistogram('frame_seconds', 'Frames', ['peer'], BOUNDS);
    const held = hot.series({ peer: 'n2' });
    expect(hot.series({ peer: 'n2' })).to.equal(held);
    held.observe(0.5);
    const registry = new Registry();
    registry.registerMetric(hot.asMetric());
    registry.resetMetrics();
    held.observe(0.05);
    const text = await registry.metrics();
    expect(text).to.include('frame_seconds_count{peer="n2"} 1');
    expect(text).to.include('frame_seconds_sum{peer="n2"} 0.05');
  });
});
