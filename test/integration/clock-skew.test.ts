import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { ClusterStatus } from '../../src/cli/status';
import { UnaryClient } from '../../src/cli/unary-client';
import { runCli } from '../support/cli';
import { FAKETIME_LIB } from '../hosts/net-hosts';
import { TestCluster, until } from '../support/cluster';
import { skipBecause } from '../support/skip-reasons';

/** n3's /healthz status code. */
async function health(t: TestCluster, id: string): Promise<number> {
  return (await fetch(`http://${t.cluster.node(id).http}/healthz`)).status;
}

/** ringcache_clock_offset_seconds{peer} of a node, from its /metrics (NaN when absent). */
async function clockOffset(t: TestCluster, id: string, peer: string): Promise<number> {
  const text = await fetch(`http://${t.cluster.node(id).http}/metrics`).then((r) => r.text());
  const line = text
    .split('\n')
    .find((l) => l.startsWith('ringcache_clock_offset_seconds{') && l.includes(`peer="${peer}"`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

/** A set straight to `id`'s Cache service: the status code it answered with (OK = 0), and its message. */
async function setThrough(
  t: TestCluster,
  id: string,
  key: string,
): Promise<{ code: number; details: string }> {
  const c = new UnaryClient(t.address(id), 5000, t.clusterToken);
  try {
    await c.cache('Set', { key, text: 'v', consistency: 0 });
    return { code: status.OK, details: '' };
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  } finally {
    c.close();
  }
}

/**
 * n3 runs under libfaketime 2 s fast (four times the default max_clock_offset_ms); its offset is
 * read from a file on every clock read, so the test sets it right while the node runs.
 */
describe('a node whose clock is 2 s fast, on real processes', function () {
  this.timeout(120_000);
  let t: TestCluster | undefined;
  let dir: string | undefined;
  let spec: string;

  before(async function () {
    if (!existsSync(FAKETIME_LIB)) {
      skipBecause(this, 'libfaketime is not installed (apt-get install faketime)', { required: true });
    }
    dir = mkdtempSync(join(tmpdir(), 'ringcache-clock-'));
    spec = join(dir, 'n3.faketime');
    writeFileSync(spec, '+2.000\n');
    t = await TestCluster.start({
      nodes: 3,
      env: { RINGCACHE_LOG_LEVEL: 'warn' },
      launch: (id) =>
        id === 'n3'
          ? {
              env: {
                LD_PRELOAD: FAKETIME_LIB,
                FAKETIME_TIMESTAMP_FILE: spec,
                FAKETIME_NO_CACHE: '1',
                // Timers and deadlines stay on real time: only the wall clock is off.
                FAKETIME_DONT_FAKE_MONOTONIC: '1',
              },
            }
          : {},
    });
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports NOT_SERVING and refuses writes with UNAVAILABLE naming the bound, while the SDK writes through the others', async () => {
    const c = t!;
    await until('n3 reports not serving', async () => (await health(c, 'n3')) === 503, 30_000, 100);
    const refused = await setThrough(c, 'n3', 'skewed');
    expect(refused.code, refused.details).to.equal(status.UNAVAILABLE);
    expect(refused.details).to.match(/max_clock_offset_ms \(500 ms\)/);
    expect(refused.details).to.match(/n1 -\d+ ms/);
    const offset = await clockOffset(c, 'n3', 'n1');
    expect(offset, "n1's clock as n3 measures it").to.be.within(-2.5, -1.5);
    expect(await health(c, 'n1'), 'n1, whose clock is right').to.equal(200);
    expect((await setThrough(c, 'n1', 'through-n1')).code, 'a set through n1').to.equal(status.OK);
    const sdk = await c.client({ timeoutMs: 10_000 });
    await sdk.set('sdk-key', 'v');
    expect(await sdk.get('sdk-key')).to.equal('v');
  });

  it('shows in ringcache status: n3 about 2 s ahead of the others, refusing writes, and why', async () => {
    const c = t!;
    await until('n3 reports not serving', async () => (await health(c, 'n3')) === 503, 30_000, 100);
    const { code, output } = await runCli(
      ['status', '--json', '--interval', '200ms', '--addr', c.address('n1')],
      { RINGCACHE_CLUSTER_TOKEN: c.clusterToken },
    );
    expect(code, output).to.equal(0);
    const s = JSON.parse(output) as ClusterStatus;
    const member = (id: string) => s.members.find((m) => m.id === id)!;
    expect(member('n3').clockOffsetMs, "n3's clock against the others'").to.be.within(1500, 2500);
    expect(member('n1').clockOffsetMs, "n1's, measured by n2 and the fast n3").to.be.within(-1500, 500);
    expect(member('n3').clockRefusesWrites).to.equal(true);
    expect(member('n1').clockRefusesWrites).to.equal(undefined);
    expect(s.warnings.join('\n')).to.match(
      /^n3 refuses writes: its clock is further than half of cluster\.max_clock_offset_ms from most members' \(\+[12]\.\d s\)/m,
    );
    const table = await runCli(['status', '--interval', '200ms', '--addr', c.address('n1')], {
      RINGCACHE_CLUSTER_TOKEN: c.clusterToken,
    });
    expect(table.output).to.match(/^n3 .* \+[12]\.\d s( |$)/m);
  });

  it('serves writes again once its clock is set right', async () => {
    const c = t!;
    writeFileSync(spec, '+0\n');
    await until('n3 reports serving', async () => (await health(c, 'n3')) === 200, 30_000, 100);
    const set = await setThrough(c, 'n3', 'after-fix');
    expect(set.code, set.details).to.equal(status.OK);
    // Serving needs half of its peers within the bound; n1's older samples may take a round longer to go.
    await until(
      'n3 measures n1 within the bound',
      async () => Math.abs(await clockOffset(c, 'n3', 'n1')) < 0.25,
      30_000,
      100,
    );
  });
});
