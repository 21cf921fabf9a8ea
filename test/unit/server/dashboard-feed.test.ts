import { expect } from 'chai';
import { DashboardFeed, percentileMs, type DashboardSources } from '../../../src/server/dashboard/feed';
import { PeerFigures, type PeerStats } from '../../../src/server/dashboard/member-figures';
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

describe("dashboard's figures of the other members", () => {
  const stats = (requests: number, counts: number[], keys = 5): PeerStats => ({
    keys,
    bytes: 100,
    maxBytes: 1000,
    hits: 1,
    misses: 0,
    hintsPending: 0,
    requests,
    requestDurationCounts: counts,
    rssBytes: 50,
  });

  it('gives a rate and a p99 from two answers, and starts over when the counter goes down', async () => {
    let now = 10_000;
    const answers = new Map<string, PeerStats>();
    const figures = new PeerFigures(
      (id) => Promise.resolve(answers.get(id)!),
      () => now,
    );
    answers.set('n2', stats(1000, [900, 100]));
    await figures.poll(['n2']);
    expect(figures.of('n2')).to.include({ keys: 5, opsPerSec: null, p99Ms: null });
    now += 2000;
    // 400 more calls in 2 s: 200/s; of them 390 within 0.1 ms and 10 within 0.25 ms: p99 is 0.25 ms.
    answers.set('n2', stats(1400, [1290, 110]));
    await figures.poll(['n2']);
    expect(figures.of('n2')).to.include({ opsPerSec: 200, p99Ms: 0.25 });
    now += 1000;
    answers.set('n2', stats(3, [3, 0])); // restarted
    await figures.poll(['n2']);
    expect(figures.of('n2')).to.include({ opsPerSec: null, p99Ms: null });
  });

  it('shows nothing of a member that does not answer or is no longer asked about', async () => {
    let fail = false;
    const figures = new PeerFigures(() =>
      fail ? Promise.reject(new Error('unavailable')) : Promise.resolve(stats(1, [1])),
    );
    await figures.poll(['n2', 'n3']);
    expect(figures.of('n2')).to.not.equal(undefined);
    await figures.poll(['n2']);
    expect(figures.of('n3')).to.equal(undefined);
    fail = true;
    await figures.poll(['n2']);
    expect(figures.of('n2')).to.equal(undefined);
  });

  it('does not ask again while a round is still waiting for a slow member', async () => {
    let asked = 0;
    let answer: (s: PeerStats) => void = () => undefined;
    const figures = new PeerFigures(() => {
      asked++;
      return new Promise<PeerStats>((resolve) => (answer = resolve));
    });
    const first = figures.poll(['n2']);
    await figures.poll(['n2']);
    expect(asked).to.equal(1);
    answer(stats(1, [1]));
    await first;
    void figures.poll(['n2']);
    expect(asked).to.equal(2);
    answer(stats(2, [2]));
  });

  it("adds the live members' figures up, this node's own included, and none of a dead member", async () => {
    const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: 16 });
    const src = sources(ring);
    const base = src.topology();
    const feed = new DashboardFeed({
      ...src,
      topology: () => ({
        ...base,
        members: base.members.map((m) => (m.id === 'n3' ? { ...m, state: 'dead' as const } : m)),
      }),
      peerStats: (id) => Promise.resolve(stats(7, [7], id === 'n2' ? 40 : 999)),
    });
    await feed.pollPeers();
    const u = feed.update([]);
    const byId = new Map(u.members.map((m) => [m.id, m.figures]));
    expect(byId.get('n1')?.keys).to.equal(2);
    expect(byId.get('n2')?.keys).to.equal(40);
    expect(byId.get('n3')).to.equal(undefined);
    expect(u.totals).to.include({ reporting: 2, keys: 42, bytes: 110, maxBytes: 1100 });
  });
});
