import { expect } from 'chai';
import { scanCluster, scanCount } from '../../../src/client/key-scan';
import type { ClusterMap, MemberStateName } from '../../../src/client/topology-client';
import { RingCacheError } from '../../../src/errors';
import { Ring } from '../../../src/ring/ring';

const IDS = ['n1', 'n2', 'n3', 'n4'];
const KEYS = Array.from({ length: 400 }, (_, i) => `k:${i}`);

function mapOf(states: Record<string, MemberStateName>, factor = 2): ClusterMap {
  const members = new Map(IDS.map((id) => [id, { id, address: `${id}:1`, state: states[id] ?? 'alive' }]));
  return {
    epoch: 1,
    clusterName: 't',
    members,
    replication: { factor, writeQuorum: 1, readQuorum: 1 },
    source: 'n1',
    ring: new Ring(IDS, { vnodes: 40 }),
    ringState: { epoch: 1, members: [], departed: [] },
  };
}

/** Nodes that answer pages of the keys they replicate, as Cache/Scan does; `failing` do not answer. */
function nodes(map: ClusterMap, failing: string[] = []) {
  const asked: string[] = [];
  return {
    asked,
    page(address: string, prefix: string, count: number, cursor: string) {
      const id = address.split(':')[0]!;
      asked.push(id);
      if (failing.includes(id))
        return Promise.reject(new RingCacheError('UNAVAILABLE', 'connection refused'));
      const held = KEYS.filter(
        (k) => k.startsWith(prefix) && map.ring.preferenceList(k, map.replication.factor).includes(id),
      )
        .filter((k) => k > cursor)
        .sort();
      const keys = held.slice(0, count);
      return Promise.resolve({ keys, cursor: held.length > count ? keys[keys.length - 1]! : '' });
    },
  };
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

describe('scanCluster: one walk over the nodes, each key from its first replica asked', () => {
  it('lists each key once although every key has two replicas', async () => {
    const map = mapOf({});
    const keys = await collect(scanCluster(map, nodes(map), { prefix: 'k:', count: 9, timeoutMs: 1000 }));
    expect(keys).to.have.length(KEYS.length);
    expect([...keys].sort()).to.deep.equal([...KEYS].sort());
  });

  it('covers a dead node from the next replica, and never asks it', async () => {
    const map = mapOf({ n2: 'dead', n4: 'left' });
    const fake = nodes(map, ['n2', 'n4']);
    const keys = await collect(scanCluster(map, fake, { prefix: 'k:', count: 50, timeoutMs: 1000 }));
    expect([...keys].sort()).to.deep.equal(
      KEYS.filter((k) => !map.ring.preferenceList(k, 2).every((id) => id === 'n2' || id === 'n4')).sort(),
    );
    expect(fake.asked).to.not.include.members(['n2', 'n4']);
  });

  it('ends with the error of a node that does not answer, naming it', async () => {
    const map = mapOf({ n3: 'suspect' });
    const err = await collect(
      scanCluster(map, nodes(map, ['n3']), { prefix: '', count: 50, timeoutMs: 1000 }),
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RingCacheError).with.property('code', 'UNAVAILABLE');
    expect((err as Error).message).to.match(/scan could not read node n3 \(n3:1\): connection refused/);
  });

  it('checks count', () => {
    expect(scanCount(undefined)).to.equal(1000);
    for (const bad of [0, -1, 2.5, 10_001, Number.NaN])
      expect(() => scanCount(bad)).to.throw(RingCacheError, /count must be a whole number 1..10000/);
  });
});
