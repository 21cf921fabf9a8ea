import { expect } from 'chai';
import type { ClusterView } from '../../../src/cluster/cluster-view';
import { flushCluster, type FlushParts, type RingStamp } from '../../../src/cluster/flush';
import type { PeerTransport } from '../../../src/cluster/peer-transport';
import { Ring } from '../../../src/ring/ring';

/**
 * A cluster of `members` whose ring a join may change under a flush: each member's ring as it holds
 * it, the fences each member was sent, and the flush's parts as n1 runs it.
 */
function clusterOf(members: string[]) {
  let ring = { ids: members, stamp: { epoch: 1, digest: 11 } };
  const ringOf = new Map<string, RingStamp>(members.map((id) => [id, ring.stamp]));
  const fences = new Map<string, number[]>();
  const clocks = new Map<string, number>(members.map((id, i) => [id, 100 + i]));
  /** Called as each member is flushed: a test's chance to change the ring then. */
  let onFlush = (_id: string) => {};
  const flushed = (id: string, fence: number) => {
    fences.set(id, [...(fences.get(id) ?? []), fence]);
    onFlush(id);
    return 0;
  };
  const view = {
    selfId: 'n1',
    ring: () => new Ring(ring.ids, { vnodes: 16 }),
    transport: {
      flush: (id: string, _prefix: string, _timeoutMs: number, fence?: number) =>
        Promise.resolve(flushed(id, fence!)),
    } as unknown as PeerTransport,
  } as unknown as ClusterView;
  const parts: FlushParts = {
    view,
    ringHere: () => ringOf.get('n1')!,
    clockHere: () => clocks.get('n1')!,
    askMember: (id) => Promise.resolve({ clock: clocks.get(id)!, ring: ringOf.get(id)! }),
    flushHere: (_prefix, fence) => flushed('n1', fence),
    sleep: () => Promise.resolve(),
  };
  return {
    parts,
    fences,
    clocks,
    set onFlush(f: (id: string) => void) {
      onFlush = f;
    },
    /** `id` holds the ring before the last change still. */
    lagging(id: string) {
      ringOf.set(id, { epoch: ringOf.get(id)!.epoch - 1, digest: 11 });
    },
    /** `joiner` joins through `via`: `via` holds the new ring at once, the others (n1 too) when told. */
    join(joiner: string, via: string) {
      const next = { ids: [...ring.ids, joiner], stamp: { epoch: ring.stamp.epoch + 1, digest: 22 } };
      ringOf.set(via, next.stamp);
      ringOf.set(joiner, next.stamp);
      clocks.set(joiner, 500);
      return () => {
        ring = next;
        for (const id of next.ids) ringOf.set(id, next.stamp);
      };
    },
  };
}

describe('Cluster/Flush while the ring changes', () => {
  // Nemesis mix 1004142: n5 joined through n1 while n4 flushed; n5 pulled a write acknowledged before
  // the flush from its old replicas before they were flushed, and the flush, run on the ring without
  // n5, never reached it: n5 kept the write for good.
  it('flushes again, on the new ring and at the highest clock, a node that joined during it', async () => {
    const c = clusterOf(['n1', 'n2', 'n3', 'n4']);
    let applied: (() => void) | undefined;
    c.onFlush = (id) => {
      // As step 2 reaches n3, n5 joins through n2; n1 learns the new ring only later.
      if (id === 'n3' && !applied) applied = c.join('n5', 'n2');
    };
    let polls = 0;
    c.parts.sleep = () => {
      if (++polls === 3) applied!();
      return Promise.resolve();
    };
    const result = await flushCluster(c.parts, 'f');
    expect([...c.fences.keys()].sort(), 'members flushed').to.deep.equal(['n1', 'n2', 'n3', 'n4', 'n5']);
    // The second round's T takes n5's clock (500): a write it acknowledged may be past the first T.
    expect(c.fences.get('n5'), 'n5: its round, and the last pass').to.deep.equal([500, 500]);
    expect(c.fences.get('n2')).to.deep.equal([103, 500, 500]);
    expect(result.nodes.sort()).to.deep.equal(['n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('answers after one round when a member has not applied the ring it flushed on yet', async () => {
    const c = clusterOf(['n1', 'n2', 'n3']);
    c.join('n4', 'n1')();
    c.lagging('n3');
    await flushCluster(c.parts, 'f');
    expect([...c.fences.values()]).to.deep.equal([
      [500, 500],
      [500, 500],
      [500, 500],
      [500, 500],
    ]);
  });

  // A member that restarted during the flush lost its fence, and its catch-up may have pulled copies
  // of flushed writes from members step 2 had not reached yet: step 2 runs once more at the end.
  it('answers after one round and one more pass of step 2 when the ring held still', async () => {
    const c = clusterOf(['n1', 'n2', 'n3']);
    await flushCluster(c.parts, 'f');
    expect([...c.fences.values()]).to.deep.equal([
      [102, 102],
      [102, 102],
      [102, 102],
    ]);
  });

  it('gives up UNAVAILABLE, saying so, when the ring changes during every round', async () => {
    const c = clusterOf(['n1', 'n2', 'n3']);
    let joined = 0;
    c.onFlush = (id) => {
      if (id === 'n2') c.join(`j${++joined}`, 'n2')();
    };
    let error: Error | undefined;
    await flushCluster(c.parts, 'f').catch((err: Error) => (error = err));
    expect(error?.message).to.match(/the ring changed during each of its 4 rounds; run it again/);
  });
});
