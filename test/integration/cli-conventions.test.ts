import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, startCli } from '../support/cli';
import { TestCluster, until } from '../support/cluster';
import { freePorts, reservePorts } from '../support/ports';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * A free port whose port `gap` above is free too (what `up --base-port` takes for gRPC and http).
 * Random candidates below the ephemeral range: ports are handed out in runs, so the port `gap`
 * above one handed out in sequence may sit inside another process's run, again and again.
 */
async function portPair(gap: number): Promise<number> {
  const one = (port: number) => reservePorts(1, { ranges: [[port, port]] }).catch(() => []);
  for (let tries = 0; tries < 200; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await one(base)).length === 1 && (await one(base + gap)).length === 1) return base;
  }
  throw new Error(`no free port with a free one ${gap} above it`);
}

describe('the CLI, as scripts and people use it: exit codes, --json, --version, where it connects', function () {
  this.timeout(120_000);
  let t: TestCluster;
  let dir: string;

  before(async () => {
    t = await TestCluster.start({ nodes: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-cli-'));
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its version, and ends a usage mistake with exit code 2', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const v = await runCli(['--version']);
    expect(v).to.deep.equal({ code: 0, output: `${version}\n` });
    const unknown = await runCli(['get', 'k', '--colour']);
    expect(unknown.code, unknown.output).to.equal(2);
    const bare = await runCli(['set', 'k', 'v', '--ttl', '5', '--addr', t.address('n1')]);
    expect(bare.code, bare.output).to.equal(2);
    expect(bare.output).to.equal(
      'ringcache: --ttl: "5" has no unit; write 5s for seconds or 5ms for milliseconds (also m, h, d)\n',
    );
  });

  it('exits 1 for a miss, a set that stored nothing and a delete of nothing; 0 otherwise', async () => {
    const addr = ['--addr', t.address('n1')];
    expect((await runCli(['get', 'cli:absent', ...addr])).code).to.equal(1);
    expect((await runCli(['del', 'cli:absent', ...addr])).code).to.equal(1);
    expect((await runCli(['set', 'cli:k', 'v', ...addr])).code).to.equal(0);
    const nx = await runCli(['set', 'cli:k', 'w', '--nx', ...addr]);
    expect(nx).to.deep.equal({ code: 1, output: 'NOT STORED\n' });
    expect((await runCli(['del', 'cli:k', ...addr])).code).to.equal(0);
  });

  it('reads as JSON with --json: get, ttl and explain', async () => {
    const addr = ['--addr', t.address('n1')];
    await runCli(['set', 'cli:j', 'hello', '--ttl', '5m', ...addr]);
    const got = await runCli(['get', 'cli:j', '--json', ...addr]);
    expect(got.code, got.output).to.equal(0);
    const entry = JSON.parse(got.output) as { key: string; found: boolean; value: string; ttlMs: number };
    expect(entry).to.include({ key: 'cli:j', found: true, value: 'hello' });
    expect(entry.ttlMs).to.be.within(1, 300_000);
    const missing = await runCli(['get', 'cli:none', '--json', ...addr]);
    expect(missing.code).to.equal(1);
    expect(JSON.parse(missing.output)).to.deep.equal({ key: 'cli:none', found: false });
    const ttl = JSON.parse((await runCli(['ttl', 'cli:j', '--json', ...addr])).output) as { ttlMs: number };
    expect(ttl.ttlMs).to.be.within(1, 300_000);
    const explain = JSON.parse((await runCli(['explain', 'cli:j', '--json', ...addr])).output) as {
      key: string;
      replicas: unknown[];
    };
    expect(explain.key).to.equal('cli:j');
    expect(explain.replicas).to.have.lengthOf(1);
  });

  it('finds its node from RINGCACHE_ADDR or --config when --addr is not given', async () => {
    await runCli(['set', 'cli:where', 'here', '--addr', t.address('n1')]);
    const fromEnv = await runCli(['get', 'cli:where'], { RINGCACHE_ADDR: t.address('n1') });
    expect(fromEnv, fromEnv.output).to.deep.equal({ code: 0, output: 'here\n' });
    const file = path.join(dir, 'cluster.yml');
    const n1 = t.config.nodes[0]!;
    writeFileSync(file, `nodes:\n  - { id: n1, address: ${n1.address}, http: ${n1.http} }\n`);
    const fromConfig = await runCli(['get', 'cli:where', '--config', file]);
    expect(fromConfig, fromConfig.output).to.deep.equal({ code: 0, output: 'here\n' });
  });

  it('exits 3 with one line naming the node when the cluster cannot be reached', async () => {
    const [port] = await freePorts(1);
    const down = await runCli(['get', 'k', '--addr', `127.0.0.1:${port}`]);
    expect(down.code, down.output).to.equal(3);
    expect(down.output.trim().split('\n')).to.have.lengthOf(1);
    expect(down.output).to.match(new RegExp(`^ringcache: .*\\(127\\.0\\.0\\.1:${port}\\)\\n$`));
  });

  it('runs a local cluster on other ports with up --nodes --base-port', async () => {
    const base = await portPair(2000);
    const up = startCli(['up', '--nodes', '1', '--base-port', String(base)]);
    const closed = once(up.process, 'close');
    try {
      await until(
        'up to serve',
        () => up.process.exitCode !== null || up.output().includes('all 1 nodes serving'),
        60_000,
      );
      expect(up.process.exitCode, up.output()).to.equal(null);
      const set = await runCli(['set', 'cli:base', 'x', '--addr', `127.0.0.1:${base}`]);
      expect(set, set.output).to.deep.equal({ code: 0, output: 'OK\n' });
    } finally {
      up.process.kill('SIGINT');
      await closed;
    }
  });
});
