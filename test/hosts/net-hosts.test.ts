import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { reservePorts } from '../support/ports';
import { skipBecause } from '../support/skip-reasons';
import { NetHosts, SUBNET_LOCKS, subnetUnrouted } from './net-hosts';

const run = promisify(execFile);

// A k8s-scale run failed for 90 s on "connection refused" from its own pods: a run killed the day
// before had left its namespaces and its route to the same /24, which the new run had taken (no
// lock was left for it), and its packets went into the leftovers.
describe('network-namespace hosts', function () {
  this.timeout(60_000);
  before(async function () {
    const reason = await NetHosts.probe();
    if (reason) skipBecause(this, reason, { required: true });
  });

  it('take no /24 that a run killed before its teardown still routes', async () => {
    // An octet no suite holds, locked for this process so that none takes it meanwhile.
    const [octet] = await reservePorts(1, {
      lockDir: SUBNET_LOCKS,
      ranges: [[20, 219]],
      usable: subnetUnrouted,
    });
    const link = `rcleft${process.pid % 10_000}`;
    expect(await subnetUnrouted(octet!), 'before the leftover').to.equal(true);
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
    try {
      await run('ip', ['addr', 'add', `10.213.${octet}.254/24`, 'dev', link]);
      await run('ip', ['link', 'set', link, 'up']);
      await run('ip', ['link', 'set', `${link}p`, 'up']);
      expect(await subnetUnrouted(octet!), 'with a leftover routing it').to.equal(false);
    } finally {
      await run('ip', ['link', 'del', link]);
    }
    expect(await subnetUnrouted(octet!), 'once it is gone').to.equal(true);
  });
});
