import { expect } from 'chai';
import type { ReplicaWrite } from '../../src/cluster/peer-transport';
import { SimCluster } from './sim-cluster';

/**
 * A replica write read after its sender gave up on it: held in the socket of a paused replica, say.
 * Its sender counted other replicas or failed the call, and the value may have been deleted since,
 * its tombstone purged once the grace ran out (short-grace seed 609,933): the replica refuses it once
 * past its deadline by more than the clock bound, and takes it until then.
 */
describe('a replica write that comes after its deadline', function () {
  this.timeout(60_000);

  const OFFSET_MS = 500;

  async function cluster(): Promise<SimCluster> {
    const c = new SimCluster({
      seed: 7,
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 2,
      maxClockOffsetMs: OFFSET_MS,
    });
    c.startAll();
    await c.time.runUntil(c.time.now() + 2000);
    return c;
  }

  function writeOf(c: SimCluster, key: string): ReplicaWrite {
    const version = c.core('n2')!.store.hlc.now();
    return { key, record: { value: Buffer.from('v1'), flags: 0, version, expiresAtMs: 0, tombstone: false } };
  }

  it('is refused with DEADLINE_EXCEEDED, and not applied, once past its deadline by more than the clock bound', async () => {
    const c = await cluster();
    const n1 = c.core('n1')!;
    const now = n1.view.scheduler.now();
    const refused = n1.peers.replicate(writeOf(c, 'late'), now - OFFSET_MS - 1);
    expect(refused?.code).to.equal('DEADLINE_EXCEEDED');
    expect(n1.store.get('late')).to.equal(undefined);
  });

  it('is applied up to its deadline plus the clock bound (a replica whose clock runs ahead takes it)', async () => {
    const c = await cluster();
    const n1 = c.core('n1')!;
    const now = n1.view.scheduler.now();
    expect(n1.peers.replicate(writeOf(c, 'in-time'), now - OFFSET_MS)).to.equal(undefined);
    expect(n1.store.get('in-time')?.value.toString()).to.equal('v1');
  });

  it('is applied when its sender states no deadline (a node of an older release)', async () => {
    const c = await cluster();
    const n1 = c.core('n1')!;
    expect(n1.peers.replicate(writeOf(c, 'no-deadline'))).to.equal(undefined);
    expect(n1.store.get('no-deadline')?.value.toString()).to.equal('v1');
  });
});
