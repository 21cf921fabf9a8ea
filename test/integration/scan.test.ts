import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCacheError } from '../../src/errors';
import type { RingCache } from '../../src/index';
import { runCli } from '../support/cli';
import { TestCluster, until } from '../support/cluster';

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

/** Keys in a list more than once. */
function repeated(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  return keys.filter((k) => seen.has(k) || !seen.add(k));
}

interface ScanError {
  code: number;
  details: string;
}

async function scanCall(
  t: TestCluster,
  req: object,
): Promise<ScanError | { keys: string[]; cursor: string }> {
  const c = new UnaryClient(t.address('n1'), 10_000);
  try {
    return await c.cache<{ keys: string[]; cursor: string }>('Scan', req).catch((e: ScanError) => e);
  } finally {
    c.close();
  }
}

describe('scan: every key under a prefix, across the nodes, once each', function () {
  this.timeout(90_000);
  let t: TestCluster;
  let cache: RingCache;
  const stable = Array.from({ length: 300 }, (_, i) => `sc:${String(i).padStart(3, '0')}`);

  before(async () => {
    // N=2 of 3 nodes: each node holds a different two thirds, and every key is held twice.
    t = await TestCluster.start({ nodes: 3, factor: 2 });
    cache = await t.client();
    await Promise.all(stable.map((k) => cache.set(k, 1, { consistency: 'all' })));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => cache.set(`other:${i}`, 1, { consistency: 'all' })),
    );
  });
  after(() => t?.stop());

  it('returns each key of the prefix once, in pages smaller than the whole', async () => {
    const keys = await collect(cache.scan({ prefix: 'sc:', count: 7 }));
    expect(repeated(keys)).to.deep.equal([]);
    expect([...keys].sort()).to.deep.equal(stable);
    const all = await collect(cache.scan());
    expect(all.filter((k) => k.startsWith('other:'))).to.have.length(40);
    expect(all.filter((k) => k.startsWith('sc:'))).to.have.length(300);
  });

  it('returns every key present for the whole scan once while other keys come and go', async () => {
    const churn = Array.from({ length: 200 }, (_, i) => `sc:churn-${i}`);
    await Promise.all(churn.slice(0, 100).map((k) => cache.set(k, 1, { consistency: 'all' })));
    const seen: string[] = [];
    let step = 0;
    for await (const key of cache.scan({ prefix: 'sc:', count: 5 })) {
      seen.push(key);
      // Between pages: delete a churn key that may be ahead of the walk, add one that may be behind.
      if (step < 100 && seen.length % 3 === 0) {
        await cache.delete(churn[step]!, { consistency: 'all' });
        await cache.set(churn[100 + step]!, 1, { consistency: 'all' });
        step++;
      }
    }
    expect(step, 'the churn ran during the scan').to.be.greaterThan(20);
    expect(repeated(seen)).to.deep.equal([]);
    const stableSeen = seen.filter((k) => !k.startsWith('sc:churn-'));
    expect(stableSeen.sort()).to.deep.equal(stable);
    await Promise.all(churn.map((k) => cache.delete(k, { consistency: 'all' })));
  });

  it('keeps to the client keyPrefix and gives keys back without it', async () => {
    const app = await t.client({ keyPrefix: 'app1:' });
    await Promise.all(['a', 'b', 'c'].map((k) => app.set(k, k, { consistency: 'all' })));
    await cache.set('app10:x', 1, { consistency: 'all' });
    expect((await collect(app.scan())).sort()).to.deep.equal(['a', 'b', 'c']);
    expect(await collect(app.scan({ prefix: 'b' }))).to.deep.equal(['b']);
  });

  it('refuses bad requests with INVALID_ARGUMENT: a garbage cursor, another prefix cursor, counts, long prefixes', async () => {
    const first = await scanCall(t, { prefix: 'sc:', count: 2 });
    expect(first).to.have.property('cursor').that.is.a('string').and.not.equal('');
    const cursor = (first as { cursor: string }).cursor;
    const page2 = await scanCall(t, { prefix: 'sc:', count: 2, cursor });
    expect(page2).to.have.property('keys').with.length(2);
    const bad: [object, RegExp][] = [
      [{ prefix: 'sc:', cursor: 'garbage' }, /cursor .* is not one Scan returned/],
      [{ prefix: 'sc:', cursor: 'k1.////' }, /cursor .* is not one Scan returned/],
      [{ prefix: 'sc:', cursor: `${cursor}x` }, /cursor .* is not one Scan returned/],
      [{ prefix: 'other:', cursor }, /another prefix/],
      [{ prefix: 'sc:', count: 10_001 }, /count must be 1..10000/],
      [{ prefix: 'x'.repeat(t.config.limits.maxKeyBytes + 1) }, /prefix is \d+ bytes/],
    ];
    for (const [req, message] of bad) {
      const err = (await scanCall(t, req)) as ScanError;
      expect(err.code, JSON.stringify(req).slice(0, 80)).to.equal(3);
      expect(err.details).to.match(message);
    }
    const err = await collect(cache.scan({ count: 0 })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RingCacheError).with.property('code', 'INVALID_ARGUMENT');
  });

  it('serves other calls between the steps of one page, and reads the pages of many scans one at a time', async () => {
    // 60,000 keys on n1 (about 40,000 of them its own, N = 2 of 3): a page reads them all, 5,000 a
    // turn of its event loop.
    const c = new UnaryClient(t.address('n1'), 60_000);
    try {
      const value = Buffer.from('v');
      for (let i = 0; i < 60_000; i += 4000) {
        const items = Array.from({ length: 4000 }, (_, j) => ({ key: `bulk:${i + j}`, value }));
        await c.cache('SetMany', { items, consistency: 1 });
      }
      // Eight clients page at once, each asking for its next page as soon as it has one, so that
      // n1 is always reading a page, with others waiting for their turn. A scrape of n1's metrics
      // then finds one page being read: it was served between two of its steps. Read at once, a
      // page would end before anything else, and the next would begin before the scrape is read.
      let stop = false;
      const answers: string[][] = [];
      const pager = async () => {
        while (!stop)
          answers.push((await c.cache<{ keys: string[] }>('Scan', { prefix: 'bulk:', count: 1 })).keys);
      };
      const pagers = Array.from({ length: 8 }, pager);
      const seen = await until('n1 answers while reading a page', async () => {
        const text = await fetch(`http://${t.cluster.node('n1').http}/metrics`).then((r) => r.text());
        const gauge = (state: string) =>
          Number(
            text
              .split('\n')
              .find((l) => l.startsWith(`ringcache_scan_pages{state="${state}"`))
              ?.split(' ')
              .pop(),
          );
        return gauge('walking') === 1 ? { waiting: gauge('waiting') } : undefined;
      }).finally(async () => {
        stop = true;
        await Promise.all(pagers);
      });
      expect(seen!.waiting, 'pages waiting their turn').to.be.at.most(7);
      expect(answers).to.not.be.empty;
      for (const page of answers) expect(page).to.deep.equal(answers[0]).and.to.have.length(1);
    } finally {
      c.close();
    }
  });

  it('the CLI lists keys: one a line, --limit, --json', async () => {
    const addr = t.address('n2');
    const lines = await runCli(['keys', 'sc:', '--addr', addr]);
    expect(lines.code).to.equal(0);
    expect(lines.output.trim().split('\n').sort()).to.deep.equal(stable);
    const limited = await runCli(['keys', 'sc:', '--limit', '3', '--addr', addr]);
    expect(limited.output.trim().split('\n')).to.have.length(3);
    const json = await runCli(['keys', 'sc:0', '--json', '--addr', addr]);
    expect((JSON.parse(json.output) as string[]).sort()).to.deep.equal(stable.filter((k) => k < 'sc:1'));
    const none = await runCli(['keys', 'nothing:', '--json', '--addr', addr]);
    expect(none.output).to.equal('[]\n');
    const usage = await runCli(['keys', 'sc:', '--limit', '0', '--addr', addr]);
    expect(usage.code).to.equal(2);
  });

  it('covers a dead node keys from their other replica', async () => {
    await t.cluster.kill('n3', 'SIGKILL');
    await until(
      'n3 marked dead in the client',
      () => cache.cluster.members.get('n3')?.state === 'dead',
      20_000,
    );
    const keys = await collect(cache.scan({ prefix: 'sc:', count: 50 }));
    expect(repeated(keys)).to.deep.equal([]);
    expect(keys.sort()).to.deep.equal(stable);
  });
});
