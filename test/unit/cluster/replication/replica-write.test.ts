import { expect } from 'chai';
import type { ClusterView } from '../../../../src/cluster/cluster-view';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import type { PeerTransport } from '../../../../src/cluster/peer-transport';
import type { HintStore } from '../../../../src/cluster/recovery/hints';
import { CopiesInFlight } from '../../../../src/cluster/replication/copies-in-flight';
import { ReplicaWriter } from '../../../../src/cluster/replication/replica-write';
import { RingCacheError } from '../../../../src/errors';
import type { StoreRecord } from '../../../../src/store/types';
import { silentLogger } from '../../../../src/observability/logger';

const record: StoreRecord = {
  value: Buffer.alloc(1000, 1),
  flags: 0,
  version: { timestamp: 100, node: 'n1' },
  expiresAtMs: 0,
  tombstone: false,
};

/**
 * A ReplicaWriter on node `self` whose replicas answer as `answers` says: undefined holds the copy,
 * an error refuses it, and a replica missing from it never answers until `release()`.
 */
function setUp(self: string, answers: Record<string, RingCacheError | undefined>, ringUnconfirmed = false) {
  const waiting: (() => void)[] = [];
  const transport = {
    replicate: (to: string) =>
      to in answers
        ? Promise.resolve(answers[to])
        : new Promise<RingCacheError | undefined>((resolve) => waiting.push(() => resolve(undefined))),
  } as unknown as PeerTransport;
  const view = {
    selfId: self,
    isAlive: () => true,
    ringUnconfirmed: () => ringUnconfirmed,
    transport,
    scheduler: realScheduler,
  } as unknown as ClusterView;
  let hintsKept = 0;
  const hints = { add: () => (hintsKept++, true) } as unknown as HintStore;
  const copies = new CopiesInFlight();
  const writer = new ReplicaWriter(view, hints, silentLogger(), false, copies);
  return {
    writer,
    copies,
    hints: () => hintsKept,
    release: () => waiting.splice(0).forEach((resolve) => resolve()),
  };
}

describe("ReplicaWriter: a read-modify-write's accept ('unlessAllRefuse')", () => {
  const aborted = new RingCacheError('ABORTED', "key 'k' is at a higher ballot");
  const late = new RingCacheError('DEADLINE_EXCEEDED', 'no answer in time');
  const accept = (writer: ReplicaWriter, needed: number) =>
    writer.replicate('k', record, ['n1', 'n2', 'n3'], needed, Date.now() + 1000, [], 1, 'unlessAllRefuse');

  // Leases with two coordinators, seed 261,391: a round of a higher ballot, which one replica
  // promised, decided the key (an ifAbsent that found it held, and wrote nothing); the lower round's
  // copy, or a hint replayed later as a plain write, brought its value back over that decision.
  it('keeps no hint, and has its coordinator keep no copy, when one replica refused it and none took it', async () => {
    const { writer, hints } = setUp('n1', { n2: aborted, n3: late });
    const acks = await accept(writer, 2);
    expect(acks.abandoned, 'abandoned').to.equal(true);
    expect(hints(), 'hints kept').to.equal(0);
  });

  it('keeps hints and its copy where another replica took it, short of W as it is', async () => {
    const { writer, hints } = setUp('n1', { n2: aborted, n3: undefined });
    const acks = await accept(writer, 3);
    expect(acks.acknowledged).to.equal(2);
    expect(acks.abandoned, 'abandoned').to.equal(false);
    expect(hints(), "n2's hint").to.equal(1);
  });

  it('keeps them where no replica refused it, only failed to answer', async () => {
    const { writer, hints } = setUp('n1', { n2: late, n3: late });
    const acks = await accept(writer, 2);
    expect(acks.abandoned, 'abandoned').to.equal(false);
    expect(hints(), 'hints kept').to.equal(2);
  });
});

describe('ReplicaWriter', () => {
  it('counts its own copy toward W only where it is a replica of the key', async () => {
    // n4 coordinates a key of [n1, n2, n3] (it left the ring, and an older ring sent the call to it):
    // n1 holds the copy, n2 and n3 refuse it. One replica holds the write, not two.
    const refused = new RingCacheError('DEADLINE_EXCEEDED', 'no answer in time');
    const { writer } = setUp('n4', { n1: undefined, n2: refused, n3: refused });
    const acks = await writer.replicate('k', record, ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    expect(acks.acknowledged).to.equal(1);
    expect(acks.holders).to.deep.equal(['n1']);
  });

  it('counts its own copy where it is a replica', async () => {
    const refused = new RingCacheError('DEADLINE_EXCEEDED', 'no answer in time');
    const { writer } = setUp('n1', { n2: undefined, n3: refused });
    const acks = await writer.replicate('k', record, ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    expect(acks.acknowledged).to.equal(2);
    expect(acks.holders).to.deep.equal(['n1', 'n2']);
  });

  it('does not count its own copy while its ring is unconfirmed: the key may have other replicas now', async () => {
    const refused = new RingCacheError('DEADLINE_EXCEEDED', 'no answer in time');
    const { writer } = setUp('n1', { n2: undefined, n3: refused }, true);
    const acks = await writer.replicate('k', record, ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    expect(acks.acknowledged).to.equal(1);
  });

  it('counts each copy in flight until its replica answers, after the write was answered', async () => {
    const { writer, copies, release } = setUp('n1', { n2: undefined });
    const acks = await writer.replicate('k', record, ['n1', 'n2', 'n3'], 2, Date.now() + 1000);
    expect(acks.acknowledged, 'answered at W').to.equal(2);
    expect(copies.bytes, "n3's copy, still on its way").to.equal(1000);
    let settled = 0;
    copies.onSettle(() => settled++);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect([copies.bytes, settled]).to.deep.equal([0, 1]);
  });
});
