import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { UnaryClient } from '../../src/cli/unary-client';
import type { ExplainResponseMsg } from '../../src/proto/messages';
import { Ring } from '../../src/ring/ring';
import { TestCluster } from '../support/cluster';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../src/cli/main.js');

// Issue 13 §4: Cluster/Explain and `ringcache explain KEY` (new).
describe('Cluster/Explain and ringcache explain (issue 13 §4)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 4, factor: 3, writeQuorum: 3, readQuorum: 1 });
  });
  after(() => t?.stop());

  const explain = async (id: string, key: string) => {
    const c = new UnaryClient(t.address(id), 5000);
    try {
      return await c.cluster<ExplainResponseMsg>('Explain', { key });
    } finally {
      c.close();
    }
  };

  it("answers the key's preference list and the version each replica holds, from any node", async () => {
    const cache = await t.client();
    await cache.set('explained', 'v');
    const written = await cache.getEntry('explained');
    const expected = new Ring(['n1', 'n2', 'n3', 'n4'], { vnodes: t.config.vnodes }).preferenceList(
      'explained',
      3,
    );
    for (const id of ['n1', 'n4']) {
      const e = await explain(id, 'explained');
      expect(e.replicas.map((r) => r.nodeId)).to.deep.equal(expected);
      expect(e.ringPosition).to.equal(new Ring(['n1'], { vnodes: 1 }).hashOf('explained'));
      for (const r of e.replicas) {
        expect(r, r.nodeId).to.include({ holds: true, tombstone: false, error: '' });
        expect(r.version).to.deep.equal(written!.version);
      }
    }
  });

  it("has the key's coordinator time its frames to each other replica (ringcache_peer_frame_duration_seconds)", async () => {
    const cache = await t.client();
    const [coordinator, ...others] = new Ring(['n1', 'n2', 'n3', 'n4'], {
      vnodes: t.config.vnodes,
    }).preferenceList('timed', 3);
    await cache.set('timed', 'v'); // W=3: acknowledged once both other replicas answered
    const http = t.config.nodes.find((n) => n.id === coordinator)!.http;
    const body = await (await fetch(`http://${http}/metrics`)).text();
    expect(body).to.match(/^# TYPE ringcache_peer_frame_duration_seconds histogram$/m);
    /** A sample's value: the line of `name` with every label of `labels` (NaN when none). */
    const sample = (name: string, labels: Record<string, string>) => {
      const line = body
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
        );
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
    };
    for (const peer of others) {
      const series = { peer, stream: 'replicate' };
      const count = sample('ringcache_peer_frame_duration_seconds_count', series);
      expect(count, `${coordinator}'s replicate frames to ${peer}`).to.be.at.least(1);
      expect(sample('ringcache_peer_frame_duration_seconds_bucket', { ...series, le: '+Inf' })).to.equal(
        count,
      );
    }
  });

  it('shows a tombstone after a delete, nothing for a key never written, and a bad key as INVALID_ARGUMENT', async () => {
    const cache = await t.client();
    await cache.set('gone', 'v');
    await cache.delete('gone');
    const e = await explain('n2', 'gone');
    expect(e.replicas.every((r) => r.holds && r.tombstone)).to.equal(true);
    const never = await explain('n2', 'never-written');
    expect(never.replicas.map((r) => r.holds)).to.deep.equal([false, false, false]);
    const err = await explain('n2', '').catch((x: { code: number }) => x);
    expect((err as { code: number }).code).to.equal(3);
  });

  it('prints a table with ringcache explain', async () => {
    const cache = await t.client();
    await cache.set('printed', 'v'); // W=3: every replica holds it
    const { stdout } = await run(process.execPath, [CLI, 'explain', 'printed', '--addr', t.address('n3')]);
    expect(stdout).to.match(/^key "printed": ring position \d+, epoch 1 \(asked n3\)/);
    expect(stdout).to.match(/1 \(owner\)/);
    expect(stdout.match(/ value /g)).to.have.lengthOf(3);
  });
});
