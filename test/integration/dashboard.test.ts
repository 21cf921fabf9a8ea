import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core' with { 'resolution-mode': 'import' };
import { makeCerts } from '../../src/cli/certs';
import { skipBecause } from '../support/skip-reasons';
import { TestCluster, until } from '../support/cluster';

/** Debian's chromium, or the binary RINGCACHE_CHROMIUM names. */
function chromiumPath(): string | undefined {
  const candidates = [process.env.RINGCACHE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

/** Where screenshots go: RINGCACHE_ARTIFACTS, else test-artifacts/ at the repository root (ignored by git). */
const ARTIFACTS = process.env.RINGCACHE_ARTIFACTS ?? path.resolve(__dirname, '../../../test-artifacts');

/** Evaluates `expression` in the page (strings: this project's TypeScript has no DOM types). */
const inPage = <T>(page: Page, expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

const membersIn = (page: Page, state: string): Promise<string[]> =>
  inPage(
    page,
    `[...document.querySelectorAll('#members tr[data-state="${state}"]')].map((r) => r.getAttribute('data-member'))`,
  );

// The dashboard at a node's http address, in a real headless Chromium against a real 3-node cluster.
describe('dashboard in a real browser', function () {
  this.timeout(180_000);
  let t: TestCluster;
  let browser: Browser;
  let page: Page;
  /** Errors the page threw, from its load on. */
  const errors: string[] = [];

  before(async function () {
    const executablePath = chromiumPath();
    if (!executablePath) {
      skipBecause(
        this,
        'no Chromium: install it with `apt-get install -y chromium` (Debian) or set RINGCACHE_CHROMIUM to a Chromium binary',
        { required: true },
      );
    }
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 3 });
    const cache = await t.client();
    await cache.set('dashboard:key', 'a value');
    for (let i = 0; i < 200; i++) await cache.get('dashboard:key');
    // puppeteer-core is an ES module: imported, not required.
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    // Loaded here, not by the first test: every test uses the page, and each may run alone (--grep).
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`http://${t.cluster.node('n1').http}/`);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('shows the three members alive, live, without a reload', async () => {
    await page.waitForFunction(
      'document.querySelectorAll(\'#members tr[data-state="alive"]\').length === 3',
      {
        timeout: 60_000,
      },
    );
    expect((await membersIn(page, 'alive')).sort()).to.deep.equal(['n1', 'n2', 'n3']);
    expect(await inPage(page, "document.getElementById('node').textContent")).to.equal('n1');
    // Every ring arc is drawn, owned by one of the members.
    expect(await inPage(page, "document.querySelectorAll('#ring path').length")).to.be.greaterThan(3);
    // Both charts are drawn (uPlot, served by the node).
    await page.waitForFunction("document.querySelectorAll('.uplot').length === 2", { timeout: 30_000 });
    expect(errors).to.deep.equal([]);
  });

  it("shows every member's keys, memory and traffic, and the cluster's totals", async () => {
    // Reads of keys spread over the ring, until every member shows traffic: each row's figures are
    // that member's own (asked by n1 over its peer connections), not n1's.
    const cache = await t.client();
    let reading = true;
    const load = (async () => {
      for (let i = 0; reading; i++) await cache.get(`dashboard:load:${i % 64}`).catch(() => undefined);
    })();
    try {
      await page.waitForFunction(
        `[...document.querySelectorAll('#members tbody tr')]
          .filter((r) => Number(r.getAttribute('data-ops')) > 0 && Number(r.getAttribute('data-keys')) >= 1)
          .length === 3`,
        { timeout: 60_000 },
      );
    } finally {
      reading = false;
      await load;
    }
    // Rows and totals of one render: read together.
    const { rows, total } = await inPage<{
      rows: { keys: number; bytes: number }[];
      total: { keys: number; bytes: number; reporting: number };
    }>(
      page,
      `(() => {
        const figures = (r) => ({ keys: Number(r.getAttribute('data-keys')), bytes: Number(r.getAttribute('data-bytes')) });
        const total = document.getElementById('members-total');
        return {
          rows: [...document.querySelectorAll('#members tbody tr')].map(figures),
          total: { ...figures(total), reporting: Number(total.getAttribute('data-reporting')) },
        };
      })()`,
    );
    expect(rows).to.have.length(3);
    // W=3: every member holds 'dashboard:key'.
    for (const r of rows) expect(r.keys).to.be.at.least(1);
    expect(total.reporting).to.equal(3);
    expect(total.keys).to.equal(rows.reduce((sum, r) => sum + r.keys, 0));
    expect(total.bytes).to.equal(rows.reduce((sum, r) => sum + r.bytes, 0));
  });

  it('shows a killed member dead', async () => {
    const killedAt = Date.now();
    await t.cluster.kill('n3', 'SIGKILL');
    await page.waitForFunction(
      'document.querySelector(\'#members tr[data-member="n3"]\')?.getAttribute("data-state") === "dead"',
      { timeout: 90_000 },
    );
    // Reported, not asserted (no wall-clock bound in tests): the time from SIGKILL to the page saying so.
    console.log(`      n3 shown dead ${Date.now() - killedAt} ms after its SIGKILL`);
    expect((await membersIn(page, 'alive')).sort()).to.deep.equal(['n1', 'n2']);
  });

  it('looks a key up: its replicas, which hold it, and at which version', async () => {
    // n3 is dead already after the test above; killed here when this test runs on its own (--grep).
    await t.cluster.kill('n3', 'SIGKILL');
    await page.type('#lookup-key', 'dashboard:key');
    await page.click('#lookup-go');
    await page.waitForFunction("document.querySelectorAll('#lookup-result tr[data-replica]').length === 3", {
      timeout: 30_000,
    });
    const rows = await inPage<{ id: string; holds: string }[]>(
      page,
      `[...document.querySelectorAll('#lookup-result tr[data-replica]')].map((tr) =>
        ({ id: tr.getAttribute('data-replica'), holds: tr.getAttribute('data-holds') }))`,
    );
    expect(rows.map((r) => r.id).sort()).to.deep.equal(['n1', 'n2', 'n3']);
    // W=3: both live replicas hold it; n3 is dead and cannot be asked.
    expect(
      rows
        .filter((r) => r.holds === 'yes')
        .map((r) => r.id)
        .sort(),
    ).to.deep.equal(['n1', 'n2']);
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`      screenshot: ${file}`);
  });
});

// With users (cluster.yml auth), the page loads but the cluster's data needs a read token.
describe('dashboard with auth on', function () {
  this.timeout(120_000);
  let t: TestCluster;
  const readToken = randomBytes(16).toString('hex');
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

  before(async () => {
    t = await TestCluster.start({
      nodes: 1,
      auth: { users: [{ name: 'viewer', role: 'read', tokenSha256: sha256(readToken) }] },
    });
  });
  after(() => t?.stop());

  const get = (p: string, token?: string) =>
    fetch(`http://${t.cluster.node('n1').http}${p}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it('serves the page to anyone, but no members, hot keys or lookups without a token', async () => {
    expect((await get('/')).status).to.equal(200);
    const events = await get('/events');
    expect(events.status).to.equal(401);
    expect(((await events.json()) as { error: string }).error).to.match(/Bearer <token>/);
    expect((await get('/api/explain?key=k')).status).to.equal(401);
    expect((await get('/api/explain?key=k', 'not-a-user')).status).to.equal(401);
  });

  it('answers a read user', async () => {
    const explained = await until('explain answered', async () => {
      const r = await get('/api/explain?key=k', readToken);
      return r.status === 200 ? ((await r.json()) as { replicas: unknown[] }) : undefined;
    });
    expect(explained?.replicas).to.have.length(1);
    const events = await get('/events', readToken);
    expect(events.status).to.equal(200);
    expect(events.headers.get('content-type')).to.equal('text/event-stream');
    await events.body?.cancel();
  });

  it('refuses a bad key lookup as the caller’s mistake', async () => {
    expect((await get('/api/explain?key=', readToken)).status).to.equal(400);
    expect((await get(`/api/explain?key=${'k'.repeat(100_000)}`, readToken)).status).to.be.oneOf([400, 431]);
  });
});

// Without users, the gRPC port may still be closed to clients without a certificate
// (tls.client_auth: require): the plain-HTTP dashboard then keeps the data closed too, unless only
// this machine reaches it.
describe('dashboard without auth, on a node whose gRPC port requires client certificates', function () {
  this.timeout(120_000);
  let dir: string;
  const clusters: TestCluster[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-dashboard-tls-'));
    await makeCerts({ out: dir, nodes: ['n1'], hosts: [], days: 2, force: false });
  });
  after(async () => {
    await Promise.all(clusters.map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (httpOnAllInterfaces: boolean) => {
    const t = await TestCluster.start({
      nodes: 1,
      httpOnAllInterfaces,
      tls: {
        caFile: path.join(dir, 'ca.pem'),
        certFile: path.join(dir, '{id}.pem'),
        keyFile: path.join(dir, '{id}-key.pem'),
        clientAuth: 'require',
      },
    });
    clusters.push(t);
    return (p: string) => fetch(`http://${t.cluster.node('n1').http}${p}`);
  };

  it('keeps members, hot keys and lookups closed (403, saying why) where others can reach the http port', async () => {
    const get = await start(true);
    expect((await get('/')).status).to.equal(200);
    const events = await get('/events');
    expect(events.status).to.equal(403);
    expect(((await events.json()) as { error: string }).error).to.match(/certificate.*auth/);
    expect((await get('/api/explain?key=k')).status).to.equal(403);
  });

  it('opens them where only this machine reaches the http port (a loopback address)', async () => {
    const get = await start(false);
    const events = await get('/events');
    expect(events.status).to.equal(200);
    await events.body?.cancel();
  });
});
