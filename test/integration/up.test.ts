import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, startCli } from '../support/cli';
import { until } from '../support/cluster';
import { freePorts } from '../support/ports';

// `ringcache up` shows a person what happens to the cluster it runs, from its nodes' logs: a member
// going suspect and dead, a ring change and its rebalances; not gossip's probes.
describe('ringcache up: what it shows', function () {
  this.timeout(240_000);
  let dir = '';
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'up-events-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a killed node turn suspect then dead, and the ring change and rebalances of its leave', async () => {
    const ports = await freePorts(6);
    const file = path.join(dir, 'cluster.yml');
    writeFileSync(
      file,
      [
        'cluster: { name: up-events }',
        'nodes:',
        ...[0, 1, 2].map(
          (i) =>
            `  - { id: n${i + 1}, address: 127.0.0.1:${ports[2 * i]}, http: 127.0.0.1:${ports[2 * i + 1]} }`,
        ),
        '',
      ].join('\n'),
    );
    const up = startCli(['up', '--config', file]);
    const closed = once(up.process, 'close');
    try {
      // Ends early when up exits (a node that did not start), to say why. The secret's line, whole
      // (its newline read), is the last of what up prints once its nodes serve.
      const secretLine = /export RINGCACHE_CLUSTER_TOKEN_FILE=(\S+)\n/;
      await until(
        'all 3 nodes serving, and the secret file named',
        () => up.process.exitCode !== null || secretLine.test(up.output()),
        60_000,
      );
      expect(up.process.exitCode, up.output()).to.equal(null);
      const pid = Number(
        new RegExp(`^n3 +127\\.0\\.0\\.1:${ports[4]} +\\S+ +\\S+ +(\\d+)$`, 'm').exec(up.output())?.[1],
      );
      const tokenFile = secretLine.exec(up.output())?.[1];
      expect(pid, 'n3 pid in the table').to.be.greaterThan(0);
      expect(tokenFile, 'the secret file').to.be.a('string');
      // Killed only once n1 and n2 both hold n3 alive: a node still suspecting it from the start (a
      // busy machine) would take it from suspect to dead, and no node would log it turning suspect.
      for (const port of [ports[0], ports[2]]) {
        await until(
          `127.0.0.1:${port} holding all 3 nodes alive`,
          async () => {
            const status = await runCli(['status', '--addr', `127.0.0.1:${port}`], {
              RINGCACHE_CLUSTER_TOKEN_FILE: tokenFile!,
            });
            return status.code === 0 && status.output.includes('3/3 alive');
          },
          60_000,
        );
      }
      process.kill(pid, 'SIGKILL');
      // What up printed, when a wait fails: the only trace of what the nodes saw.
      const withOutput = (err: Error) => {
        throw new Error(`${err.message}; up printed:\n${up.output()}`);
      };
      // Waits, not bounds: a starved node takes longer to suspect (a soak at load 10 missed 10 s).
      await until(
        'n3 shown suspect',
        () => /^n3 is suspect: it missed its pings \(seen by n[12]\)$/m.test(up.output()),
        60_000,
      ).catch(withOutput);
      await until('n3 shown dead', () => /^n3 is dead \(seen by n[12]\)/m.test(up.output()), 60_000).catch(
        withOutput,
      );

      const leave = await runCli(['leave', 'n3', '--addr', `127.0.0.1:${ports[0]}`], {
        RINGCACHE_CLUSTER_TOKEN_FILE: tokenFile!,
      });
      expect(leave.code, leave.output).to.equal(0);
      await until('the ring change shown', () => up.output().includes('ring epoch 2: n1, n2\n'));
      await until('both rebalances finished', () =>
        ['n1', 'n2'].every((id) =>
          new RegExp(`^\\[${id}\\] rebalance to epoch 2 finished: `, 'm').test(up.output()),
        ),
      );
      // Less the last log lines that the report of n3's crash quotes, indented.
      const out = up
        .output()
        .split('\n')
        .filter((l) => !l.startsWith('  {'))
        .join('\n');
      expect(out.match(/^n3 is dead/gm), 'once, though both nodes saw it').to.have.lengthOf(1);
      expect(out).to.not.include('no direct or indirect ack');
      expect(out).to.not.include('"msg"');
      up.process.kill('SIGINT');
      await closed;
    } finally {
      up.process.kill('SIGKILL');
    }
  });
});
