import { expect } from 'chai';
import { attemptBudgetMs, BUSY_MS, Router, type NodeConnection } from '../../../src/client/router';
import { clusterMapOf } from '../../../src/client/topology-client';
import { Code, MemberStateWire } from '../../../src/proto/messages';
import { OpCode, REPLY_FULL, TRY_AGAIN, type PackedOp, type PackedResult } from '../../../src/proto/packed';
import type { OnStall } from '../../../src/transport/batched-stream';
import { VirtualClock } from '../../support/virtual-clock';

/**
 * How a fake node treats what it is sent: answer, refuse at once (down), refuse it for a limit
 * before running it (TRY_AGAIN: busy; REPLY_FULL: its frame's other gets took the reply), or hold it
 * (the test settles it).
 */
type Behaviour = 'ok' | 'refuse' | 'busy' | 'full' | 'hold';

interface Sent {
  id: string;
  op: PackedOp;
  onStall: OnStall | undefined;
  answer: (res: PackedResult) => void;
}

/** Fake nodes behind the router's NodeConnection: each send is recorded; a held one times out at its deadline. */
class FakeNodes {
  readonly sent: Sent[] = [];
  readonly behaviour = new Map<string, Behaviour>();
  constructor(readonly clock: VirtualClock) {}

  connect = (opts: { address: string }): NodeConnection => {
    const id = opts.address.split(':')[0]!;
    let framesSent = 0;
    return {
      address: opts.address,
      get framesSent() {
        return framesSent;
      },
      send: (op, deadlineMs, onStall) => {
        framesSent++;
        return new Promise<PackedResult>((resolve) => {
          let done = false;
          const answer = (res: PackedResult) => {
            if (done) return;
            done = true;
            resolve(res);
          };
          // Probes (gets of the empty key) are not calls: only the calls are recorded.
          if (!(op[0] === OpCode.get && op[1] === '')) this.sent.push({ id, op, onStall, answer });
          const b = this.behaviour.get(id) ?? 'ok';
          if (b === 'ok') answer(okOf(op, id));
          else if (b === 'refuse') answer([Code.UNAVAILABLE, `${id} refused`, '']);
          else if (b === 'busy') answer([Code.RESOURCE_EXHAUSTED, `${id} holds too much`, TRY_AGAIN]);
          else if (b === 'full') answer([Code.RESOURCE_EXHAUSTED, `${id}'s reply is full`, REPLY_FULL]);
          else {
            this.clock.setTimeout(
              () => answer([Code.DEADLINE_EXCEEDED, `${id} did not answer before the deadline`, '']),
              deadlineMs - this.clock.now(),
            );
          }
        });
      },
      close: () => undefined,
    };
  };

  /** The ids sent to, in order. */
  order(): string[] {
    return this.sent.map((s) => s.id);
  }
}

function okOf(op: PackedOp, id: string): PackedResult {
  switch (op[0]) {
    case OpCode.get:
      return [0, true, Buffer.from(id), 0, 1, id, 0];
    case OpCode.incr:
      return [0, 1, 1, id] as unknown as PackedResult;
    default:
      return [0, true, 1, id];
  }
}

/** The cluster map of `nodes` (alive, but those in `suspect`), N = `factor`. */
function mapOf(nodes: string[], factor: number, suspect: string[] = []) {
  return clusterMapOf({
    clusterName: 't',
    epoch: 1,
    members: nodes.map((id) => ({
      id,
      address: `${id}:7400`,
      httpAddress: `${id}:8400`,
      state: suspect.includes(id) ? MemberStateWire.SUSPECT : MemberStateWire.ALIVE,
      incarnation: 0,
      sinceEpoch: 1,
    })),
    departed: [],
    vnodes: 16,
    hashAlgorithm: 'md5',
    replication: { factor, writeQuorum: 1, readQuorum: 1 },
    answeredBy: nodes[0]!,
    catchingUp: false,
  });
}

function setup(nodes: string[], factor: number) {
  const clock = new VirtualClock();
  const fake = new FakeNodes(clock);
  let refreshes = 0;
  const map = mapOf(nodes, factor);
  const router = new Router(map, {
    maxRetries: 1,
    maxOpsPerFrame: 64,
    maxFramesInFlight: 4,
    refresh: () => {
      refreshes++;
      return Promise.resolve();
    },
    onEpoch: () => undefined,
    connect: fake.connect,
    clock,
  });
  const key = 'some-key';
  const [a, b, c] = router.candidates(key) as [string, string, string];
  /** Runs a call; its outcome, once settled, in `.result` or `.error`. */
  const call = (op: PackedOp, timeoutMs = 5000) => {
    const out: { result?: PackedResult; error?: Error & { code?: string }; settled: boolean } = {
      settled: false,
    };
    router
      .run(key, op, timeoutMs, (res) => res as PackedResult)
      .then(
        (r) => Object.assign(out, { result: r, settled: true }),
        (e: Error) => Object.assign(out, { error: e, settled: true }),
      );
    return out;
  };
  return { clock, fake, router, key, a, b, c, call, refreshes: () => refreshes };
}

const get = (key = 'some-key'): PackedOp => [OpCode.get, key, 1];
const incr = (key = 'some-key'): PackedOp => [OpCode.incr, key, 1, 0, 0, 1, 'req-1'];

describe('Router', () => {
  it('sends a call to the first replica only when it answers', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    const out = s.call(get());
    await s.clock.advance(0);
    expect(out.result?.[0]).to.equal(Code.OK);
    expect(s.fake.order()).to.deep.equal([s.a]);
    s.router.close();
  });

  it('asks the next replica when the first outlives its budget, and marks the first stalled', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    const out = s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order()).to.deep.equal([s.a]);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(0);
    expect(out.result?.[0]).to.equal(Code.OK);
    expect(out.result?.[5], 'answered by the second replica').to.equal(s.b);
    expect(s.fake.order(), 'each replica once').to.deep.equal([s.a, s.b]);
    expect(s.router.stalled()).to.deep.equal([s.a]);
    expect(s.router.candidates(s.key), 'the stalled replica goes last').to.deep.equal([s.b, s.c, s.a]);
    s.router.close();
  });

  it('takes a late answer from a replica that outlived its budget when it comes first', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    s.fake.behaviour.set(s.b, 'hold');
    const out = s.call(get());
    await s.clock.advance(0);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(0);
    expect(s.fake.order()).to.deep.equal([s.a, s.b]);
    s.fake.sent[0]!.answer([0, true, Buffer.from('late'), 0, 1, s.a, 0]);
    await s.clock.advance(0);
    expect(out.result?.[5], 'the first attempt still counts').to.equal(s.a);
    // The second answering later changes nothing.
    s.fake.sent[1]!.answer([0, true, Buffer.from('later'), 0, 1, s.b, 0]);
    await s.clock.advance(0);
    expect(out.result?.[5]).to.equal(s.a);
    s.router.close();
  });

  it('tries each replica once per round, by id, the stalled one last, and names each failure after its own node', async () => {
    // The fault this replaced: with the first replica stalled, the list was reordered and the failure
    // was noted under the new first replica, which was then skipped untried (N=3: a, b, a, refresh, c).
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    s.fake.behaviour.set(s.b, 'refuse');
    s.fake.behaviour.set(s.c, 'refuse');
    const out = s.call(get(), 1000);
    await s.clock.advance(0);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(0);
    expect(s.fake.order(), 'b refused, then c: never a again while it is in flight').to.deep.equal([
      s.a,
      s.b,
      s.c,
    ]);
    expect(out.settled, 'a is still in flight').to.equal(false);
    await s.clock.advance(1000);
    expect(out.error?.message).to.match(
      new RegExp(`${s.a} \\(1x\\): ${s.a} did not answer before the deadline`),
    );
    expect(out.error?.message).to.include(`${s.b} (1x): ${s.b} refused`);
    expect(out.error?.message).to.include(`${s.c} (1x): ${s.c} refused`);
    expect(out.error?.code).to.equal('DEADLINE_EXCEEDED');
    s.router.close();
  });

  it('with every replica down, tries each once per round, refreshes the map between rounds, and fails UNAVAILABLE', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    for (const id of [s.a, s.b, s.c]) s.fake.behaviour.set(id, 'refuse');
    const out = s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order()).to.deep.equal([s.a, s.b, s.c]);
    expect(out.settled, 'waits out the backoff').to.equal(false);
    await s.clock.advance(50);
    expect(s.refreshes()).to.equal(1);
    expect(s.fake.order()).to.deep.equal([s.a, s.b, s.c, s.a, s.b, s.c]);
    expect(out.error?.code).to.equal('UNAVAILABLE');
    expect(out.error?.message).to.include('after 2 round(s)');
    expect(out.error?.message).to.include(`${s.a} (2x): ${s.a} refused`);
    s.router.close();
  });

  it('never moves a read-modify-write on for its budget, only when its replica refuses it', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    const out = s.call(incr());
    await s.clock.advance(0);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(1000);
    expect(s.router.stalled(), 'the node is still taken for stalled').to.deep.equal([s.a]);
    expect(s.fake.order()).to.deep.equal([s.a]);
    s.fake.sent[0]!.answer([0, 1, 1, s.a] as unknown as PackedResult);
    await s.clock.advance(0);
    expect(out.result?.[0]).to.equal(Code.OK);

    s.router.close();

    const r = setup(['n1', 'n2', 'n3'], 3);
    r.fake.behaviour.set(r.a, 'refuse');
    const refused = r.call(incr());
    await r.clock.advance(0);
    expect(r.fake.order(), 'a refused: b coordinates or forwards').to.deep.equal([r.a, r.b]);
    expect(refused.result?.[0]).to.equal(Code.OK);
    r.router.close();
  });

  for (const [name, op] of [
    ['set', [OpCode.set, 'some-key', Buffer.from('v'), 0, 0, 0, 1] as PackedOp],
    ['delete', [OpCode.delete, 'some-key', 1] as PackedOp],
  ] as const) {
    it(`never sends a ${name} to a second replica while the first is only slow: a late copy would overwrite later writes`, async () => {
      const s = setup(['n1', 'n2', 'n3'], 3);
      s.fake.behaviour.set(s.a, 'hold');
      const out = s.call(op, 2000);
      await s.clock.advance(0);
      s.fake.sent[0]!.onStall!();
      await s.clock.advance(1000);
      expect(s.fake.order()).to.deep.equal([s.a]);
      s.fake.sent[0]!.answer([0, true, 1, s.a]);
      await s.clock.advance(0);
      expect(out.result?.[0]).to.equal(Code.OK);
      s.router.close();

      const r = setup(['n1', 'n2', 'n3'], 3);
      r.fake.behaviour.set(r.a, 'refuse');
      const refused = r.call(op);
      await r.clock.advance(0);
      expect(r.fake.order(), 'refused outright: the next replica').to.deep.equal([r.a, r.b]);
      expect(refused.result?.[0]).to.equal(Code.OK);
      r.router.close();
    });
  }

  it('answers a delete true when a replica deleted the value and missed its quorum, and the retry found it absent', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    s.fake.behaviour.set(s.b, 'hold');
    const out = s.call([OpCode.delete, 'some-key', 3]);
    await s.clock.advance(0);
    s.fake.sent[0]!.answer([Code.UNAVAILABLE, 'acknowledged by 2 of the 3 replicas', 'QUORUM_NOT_MET', true]);
    await s.clock.advance(0);
    expect(s.fake.order(), 'the retry goes to the next replica').to.deep.equal([s.a, s.b]);
    s.fake.sent[1]!.answer([Code.OK, false]); // the tombstone from the first attempt is there
    await s.clock.advance(0);
    expect(out.result).to.deep.equal([Code.OK, true]);
    s.router.close();

    // Without the first replica's word, "absent" stays the answer.
    const r = setup(['n1', 'n2', 'n3'], 3);
    r.fake.behaviour.set(r.a, 'hold');
    r.fake.behaviour.set(r.b, 'hold');
    const plain = r.call([OpCode.delete, 'some-key', 3]);
    await r.clock.advance(0);
    r.fake.sent[0]!.answer([Code.UNAVAILABLE, 'acknowledged by 2 of the 3 replicas', 'QUORUM_NOT_MET']);
    await r.clock.advance(0);
    r.fake.sent[1]!.answer([Code.OK, false]);
    await r.clock.advance(0);
    expect(plain.result).to.deep.equal([Code.OK, false]);
    r.router.close();
  });

  it('fails QUORUM_NOT_MET, not UNAVAILABLE, when the replicas it reached missed their quorum', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    for (const id of [s.a, s.b, s.c]) s.fake.behaviour.set(id, 'hold');
    const out = s.call([OpCode.set, 'some-key', Buffer.from('v'), 0, 0, 0, 3], 5000);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) {
        await s.clock.advance(0);
        s.fake.sent
          .at(-1)!
          .answer([Code.UNAVAILABLE, 'acknowledged by 2 of the 3 replicas', 'QUORUM_NOT_MET']);
      }
      await s.clock.advance(200);
    }
    await s.clock.advance(1000);
    expect(out.error?.code, out.error?.message).to.equal('QUORUM_NOT_MET');
    s.router.close();
  });

  it('sends a read-modify-write a replica refused for a limit before running it again, elsewhere or in the next round', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'busy');
    const out = s.call(incr());
    await s.clock.advance(0);
    expect(s.fake.order(), 'nothing ran at a: b takes it').to.deep.equal([s.a, s.b]);
    expect(out.result?.[0]).to.equal(Code.OK);
    s.router.close();

    // Every replica busy: the next round, after the backoff, finds room.
    const r = setup(['n1', 'n2', 'n3'], 3);
    for (const id of [r.a, r.b, r.c]) r.fake.behaviour.set(id, 'busy');
    const later = r.call(incr());
    await r.clock.advance(0);
    expect(r.fake.order()).to.deep.equal([r.a, r.b, r.c]);
    expect(later.settled, 'waits out the backoff').to.equal(false);
    r.fake.behaviour.set(r.a, 'ok');
    await r.clock.advance(50);
    expect(r.fake.order()).to.deep.equal([r.a, r.b, r.c, r.a]);
    expect(later.result?.[0]).to.equal(Code.OK);
    r.router.close();
  });

  it('tries a replica that refused for a limit after the others for a moment, then first again', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'busy');
    s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order()).to.deep.equal([s.a, s.b]);
    // a has room again, but new calls go to the others first until BUSY_MS has passed.
    s.fake.behaviour.set(s.a, 'ok');
    expect(s.router.candidates(s.key)).to.deep.equal([s.b, s.c, s.a]);
    s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order().slice(2), 'the next call').to.deep.equal([s.b]);
    await s.clock.advance(BUSY_MS);
    expect(s.router.candidates(s.key)).to.deep.equal([s.a, s.b, s.c]);
    s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order().slice(3), 'once its moment is over').to.deep.equal([s.a]);
    s.router.close();
  });

  it('tries a busy replica before a suspect one', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.router.map = mapOf(['n1', 'n2', 'n3'], 3, [s.c]);
    s.fake.behaviour.set(s.a, 'busy');
    s.call(get());
    await s.clock.advance(0);
    expect(s.router.candidates(s.key), 'alive, busy, suspect').to.deep.equal([s.b, s.a, s.c]);
    s.router.close();
  });

  it("sends again a get its frame's other gets left no room for, without taking the node for busy", async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'full');
    const out = s.call(get());
    await s.clock.advance(0);
    expect(s.fake.order()).to.deep.equal([s.a, s.b]);
    expect(out.result?.[0]).to.equal(Code.OK);
    expect(s.router.candidates(s.key), 'a stays first').to.deep.equal([s.a, s.b, s.c]);
    s.router.close();

    // Refused so everywhere, every time: OUT_OF_MEMORY, as for busy nodes.
    const r = setup(['n1', 'n2', 'n3'], 3);
    for (const id of [r.a, r.b, r.c]) r.fake.behaviour.set(id, 'full');
    const failed = r.call(get());
    await r.clock.advance(0);
    await r.clock.advance(50);
    expect(failed.error?.code, failed.error?.message).to.equal('OUT_OF_MEMORY');
    r.router.close();
  });

  it('fails OUT_OF_MEMORY, naming each refusal, when every replica stays too busy to take it', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    for (const id of [s.a, s.b, s.c]) s.fake.behaviour.set(id, 'busy');
    const out = s.call(get());
    await s.clock.advance(0);
    await s.clock.advance(50);
    expect(s.fake.order()).to.deep.equal([s.a, s.b, s.c, s.a, s.b, s.c]);
    expect(out.error?.code, out.error?.message).to.equal('OUT_OF_MEMORY');
    expect(out.error?.message).to.include(`${s.a} (2x): ${s.a} holds too much`);
    s.router.close();

    // One replica down and the others busy: the call may not say the nodes only were busy.
    const r = setup(['n1', 'n2', 'n3'], 3);
    r.fake.behaviour.set(r.a, 'refuse');
    for (const id of [r.b, r.c]) r.fake.behaviour.set(id, 'busy');
    const mixed = r.call(get());
    await r.clock.advance(0);
    await r.clock.advance(50);
    expect(r.fake.order()).to.deep.equal([r.a, r.b, r.c, r.a, r.b, r.c]);
    expect(mixed.error?.code, mixed.error?.message).to.equal('UNAVAILABLE');
    r.router.close();
  });

  it('asks no other replica for the last one of a round: it has nobody to move on to', async () => {
    const s = setup(['n1', 'n2'], 2);
    s.fake.behaviour.set(s.a, 'hold');
    s.fake.behaviour.set(s.b, 'hold');
    const out = s.call(get(), 2000);
    await s.clock.advance(0);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(0);
    s.fake.sent[1]!.onStall!();
    await s.clock.advance(1000);
    expect(s.fake.order(), 'the last replica is given the whole deadline').to.deep.equal([s.a, s.b]);
    s.fake.sent[1]!.answer([0, false]);
    await s.clock.advance(0);
    expect(out.result).to.deep.equal([0, false]);
    expect(s.fake.order()).to.deep.equal([s.a, s.b]);
    s.router.close();
  });

  it('takes a stalled replica back once a probe is answered', async () => {
    const s = setup(['n1', 'n2', 'n3'], 3);
    s.fake.behaviour.set(s.a, 'hold');
    s.call(get());
    await s.clock.advance(0);
    s.fake.sent[0]!.onStall!();
    await s.clock.advance(0);
    expect(s.router.stalled()).to.deep.equal([s.a]);
    await s.clock.advance(1500);
    expect(s.router.stalled(), 'probes still unanswered').to.deep.equal([s.a]);
    s.fake.behaviour.set(s.a, 'ok');
    await s.clock.advance(1500);
    expect(s.router.stalled()).to.deep.equal([]);
    s.router.close();
  });
});

describe('attemptBudgetMs', () => {
  const cases: [p99: number | undefined, bytes: number, budget: number][] = [
    [undefined, 0, 250],
    [1, 0, 50],
    [30, 0, 120],
    [100, 0, 250],
    [30, 1_000_000, 130],
    [undefined, 8_000_000, 330],
  ];
  for (const [p99, bytes, budget] of cases) {
    it(`gives ${budget} ms to a frame of ${bytes} bytes at a node whose p99 is ${String(p99)} ms`, () => {
      expect(attemptBudgetMs(p99, bytes)).to.be.closeTo(budget, 1e-9);
    });
  }
});
