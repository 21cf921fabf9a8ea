import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Keyv from 'keyv';
import { cacheManagerExample } from '../../examples/cache-manager';
import { nestExample } from '../../examples/nestjs';
import { KeyvRingCache } from '../../src/keyv/index';
import { TestCluster, until } from '../support/cluster';

const ROOT = path.resolve(__dirname, '../../..');

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

describe('Keyv, cache-manager and NestJS over ringcache (issue 14 §1)', function () {
  this.timeout(120_000);
  let t: TestCluster;

  // The examples connect as an app would: the SDK reads the cluster secret that clear() needs from
  // the environment (RINGCACHE_CLUSTER_TOKEN), as `npm start` tells a person to set it.
  const tokenBefore = process.env.RINGCACHE_CLUSTER_TOKEN;
  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
    process.env.RINGCACHE_CLUSTER_TOKEN = t.clusterToken;
  });
  after(async () => {
    if (tokenBefore === undefined) delete process.env.RINGCACHE_CLUSTER_TOKEN;
    else process.env.RINGCACHE_CLUSTER_TOKEN = tokenBefore;
    await t?.stop();
  });

  it("passes Keyv's own compliance suite (@keyv/test-suite, run by vitest) with Keyv 6", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keyv-suite-'));
    const out = path.join(dir, 'report.json');
    try {
      await new Promise<void>((resolve) => {
        execFile(
          process.execPath,
          [
            path.join(ROOT, 'node_modules/vitest/vitest.mjs'),
            'run',
            '--config',
            'test/keyv/vitest.config.mts',
            '--reporter=json',
            `--outputFile=${out}`,
          ],
          { cwd: ROOT, env: { ...process.env, RINGCACHE_SEEDS: t.seeds.join(',') }, timeout: 100_000 },
          () => resolve(), // a failing suite exits non-zero: the report says why
        );
      });
      const report = JSON.parse(readFileSync(out, 'utf8')) as VitestReport;
      const failures = report.testResults
        .flatMap((f) => f.assertionResults)
        .filter((a) => a.status === 'failed')
        .map((a) => `${a.fullName}: ${a.failureMessages[0]?.split('\n')[0]}`);
      console.log(
        `      @keyv/test-suite: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped (Keyv 5 only)`,
      );
      expect(failures).to.deep.equal([]);
      expect(report.numPassedTests).to.be.at.least(30);
      expect(report.numPendingTests).to.equal(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the cluster the TTL of an absolute `expires` (Keyv 6), and clears one namespace only', async () => {
    const cache = await t.client({ consistency: 'quorum' }); // W + R > N: reads see the writes before them
    const a = new Keyv({ store: new KeyvRingCache({ cache }), namespace: 'a' });
    const b = new Keyv({ store: new KeyvRingCache({ cache }), namespace: 'b' });
    const setAt = Date.now();
    await a.set('k', 'in a', 60_000);
    await b.set('k', 'in b');
    const entry = await cache.getEntry('a::k');
    // What is left of the 60 s: no more, and no less than the time since the set allows.
    expect(entry?.ttlMs, 'the cluster holds the TTL itself').to.be.within(
      60_000 - (Date.now() - setAt) - 1,
      60_000,
    );
    await a.set('brief', 'x', 150);
    // Read at ALL: undefined only once no replica holds a live copy.
    await until(
      'a::brief expired in the cluster, not only in Keyv',
      async () => (await cache.get('a::brief', { consistency: 'all' })) === undefined,
    );
    await a.clear();
    expect(await a.get('k')).to.equal(undefined);
    expect(await b.get('k')).to.equal('in b');
  });

  it('refuses clear() without a namespace, and an unrelated key survives; clears all when told to', async () => {
    const cache = await t.client({ consistency: 'all' });
    await cache.set('unrelated:important', 1);
    const store = new KeyvRingCache({ cache });
    const keyv = new Keyv({ store });
    await keyv.set('mine', 'x');
    const refused = await keyv.clear().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(refused)).to.match(/without a namespace would delete every key of the cluster/);
    expect(await cache.get('unrelated:important')).to.equal(1);
    const all = new Keyv({ store: new KeyvRingCache({ cache, noNamespaceAffectsAll: true }) });
    await all.clear();
    expect(await cache.get('unrelated:important')).to.equal(undefined);
  });

  it('runs the cache-manager v7 example: wrap, TTLs in ms, del, clear', async () => {
    expect(await cacheManagerExample(t.seeds)).to.deep.equal([
      'wrap: {"id":42,"name":"Ada"} then {"id":42,"name":"Ada"}, loaded 1 time(s)',
      'set with ttl 300 ms: short-lived',
      'after 400 ms: undefined',
      'after del: undefined',
      'after clear: undefined undefined',
    ]);
  });

  it("runs the NestJS example: CacheModule.register with the adapter's Keyv store", async () => {
    expect(await nestExample(t.seeds)).to.deep.equal([
      'get: hello from NestJS',
      'wrap: 10 then 10, computed 1 time(s)',
      'after its 200 ms ttl: undefined',
      'after del: undefined',
      'after clear: undefined',
    ]);
  });
});
