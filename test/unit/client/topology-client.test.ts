import { expect } from 'chai';
import net from 'node:net';
import {
  clusterMapOf,
  reconcileMaps,
  TopologyClient,
  type ClusterMap,
} from '../../../src/client/topology-client';
import type { TopologyResponseMsg } from '../../../src/proto/messages';

/** A Topology answer: members as `id@since`, departures as `-id@epoch`. */
function answer(from: string, epoch: number, spec: string): ClusterMap {
  const parts = spec.split(' ');
  const msg: TopologyResponseMsg = {
    clusterName: 't',
    epoch,
    members: parts
      .filter((p) => !p.startsWith('-'))
      .map((p) => {
        const [id, since] = p.split('@') as [string, string];
        return {
          id,
          address: `${id}:7400`,
          httpAddress: `${id}:8400`,
          state: 1,
          incarnation: 0,
          sinceEpoch: Number(since),
        };
      }),
    departed: parts
      .filter((p) => p.startsWith('-'))
      .map((p) => {
        const [id, e] = p.slice(1).split('@') as [string, string];
        return { id, epoch: Number(e) };
      }),
    vnodes: 16,
    hashAlgorithm: 'md5',
    replication: { factor: 3, writeQuorum: 2, readQuorum: 1 },
    answeredBy: from,
    catchingUp: false,
  };
  return clusterMapOf(msg);
}

const ids = (m: ClusterMap) => [...m.members.keys()].sort();

describe('SDK topology: two rings of one epoch (issue 13 §3)', () => {
  // Before the heal: n1 saw a join of n6 (epoch 3), n3 a leave of n5 (also epoch 3).
  const base = answer('n3', 2, 'n1@1 n2@1 n3@1 n4@1 n5@1');
  const joined = answer('n1', 3, 'n1@1 n2@1 n3@1 n4@1 n5@1 n6@3');
  const left = answer('n3', 3, 'n1@1 n2@1 n3@1 n4@1 -n5@3');

  it('merges them as the nodes do instead of taking whichever answered last', () => {
    const a = reconcileMaps(reconcileMaps(base, joined), left);
    const b = reconcileMaps(reconcileMaps(base, left), joined);
    expect(a.epoch).to.equal(4);
    expect(ids(a)).to.deep.equal(['n1', 'n2', 'n3', 'n4', 'n6']);
    expect(ids(b)).to.deep.equal(ids(a));
    expect(b.epoch).to.equal(a.epoch);
    // Another answer from either side changes nothing: no flip between the two.
    expect(reconcileMaps(a, joined)).to.equal(a);
    expect(reconcileMaps(a, left)).to.equal(a);
    expect(a.ring.preferenceList('some-key', 3)).to.deep.equal(b.ring.preferenceList('some-key', 3));
  });

  it('takes the nodes’ merged ring once they answer with it, and newer member states of the same ring', () => {
    const merged = reconcileMaps(joined, left);
    const fromNodes = answer('n2', 4, 'n1@1 n2@1 n3@1 n4@1 n6@3 -n5@3');
    expect(reconcileMaps(merged, fromNodes)).to.equal(fromNodes);
    expect(reconcileMaps(fromNodes, joined)).to.equal(fromNodes);
  });
});

describe('TopologyClient.close()', () => {
  it('stops a fetch under way at its next seed, which it never dials', async () => {
    // The first seed accepts and never speaks; the second counts the connections it gets.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    let dialled = 0;
    const second = net.createServer((s) => {
      dialled++;
      s.destroy();
    });
    const listen = (server: net.Server) =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`127.0.0.1:${(server.address() as net.AddressInfo).port}`),
        ),
      );
    const seeds = [await listen(silent), await listen(second)];
    const client = new TopologyClient();
    try {
      const fetched = client.fetch(seeds, 1000);
      client.close();
      await fetched.then(
        () => expect.fail('no seed answered'),
        (err: Error) => expect(err.message).to.match(/closed/),
      );
      expect(dialled).to.equal(0);
      expect(() => client.stub(seeds[1]!)).to.throw(/closed/);
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all([silent, second].map((server) => new Promise((r) => server.close(r))));
    }
  });
});
