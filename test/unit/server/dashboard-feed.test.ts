import { expect } from 'chai';
import { DashboardFeed, percentileMs, type DashboardSources } from '../../../src/server/dashboard/feed';
import { Ring } from '../../../src/ring/ring';

function sources(ring: Ring): DashboardSources {
  return {
    selfId: 'n1',
    topology: () => ({
      epoch: 1,
      departed: [],
      members: ring.nodeIds.map((id) => ({
        id,
        address: `${id}:7401`,
        http: `${id}:7402`,
        state: 'alive',
        incarnation: 0,
        since: 1,
      })),
    }),
    ring: () => ring,
    onTopologyChange: () => () => undefined,
    stats: () => ({ hits: 3, misses: 1, keys: 2, bytes: 10, maxBytes: 100, hintsPending: 0 }),
    requests: () => ({ count: 0, buckets: [] }),
    hotKeys: () => ({ reads: [], writes: [] }),
  };
}

describe('dashboard feed', () => {
  it("draws the ring as arcs that cover it once, each node's adding up to its share", () => {
    const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: 160 });
    const { arcs } = new DashboardFeed(sources(ring)).update([]);
    expect(arcs[0]?.[0]).to.equal(0);
    expect(arcs[arcs.length - 1]?.[1]).to.equal(1);
    for (let i = 1; i < arcs.length; i++) {
      expect(arcs[i]?.[0], `arc ${i} starts where the one before ends`).to.equal(arcs[i - 1]?.[1]);
      expect(arcs[i]?.[2], `arc ${i} merged with its neighbour of the same owner`).to.not.equal(
        arcs[i - 1]?.[2],
      );
    }
    const owned = new Map<string, number>();
    for (const [from, to, owner] of arcs) owned.set(owner, (owned.get(owner) ?? 0) + (to - from));
    for (const [id, share] of ring.shares()) expect(owned.get(id), id).to.be.closeTo(share, 1e-9);
  });

  it('reports the upper bound of the bucket holding a percentile, and none without traffic', () => {
    // Buckets: <=0.1 ms, <=0.25 ms, <=0.5 ms, ...
    expect(percentileMs([90, 9, 1], 100, 0.5)).to.equal(0.1);
    expect(percentileMs([90, 9, 1], 100, 0.99)).to.equal(0.25);
    expect(percentileMs([90, 9, 1], 100, 1)).to.equal(0.5);
    expect(percentileMs([], 0, 0.99)).to.equal(null);
  });
});
