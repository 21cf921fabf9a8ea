import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { EventEmitter, once } from 'node:events';
import { BatchedStream, type FrameCodec } from '../../../src/transport/batched-stream';
import { Code, METADATA } from '../../../src/proto/messages';
import { VirtualClock } from '../../support/virtual-clock';

interface ReqFrame {
  frameId: number;
  items: string[];
  deadlineMs: number;
}
interface ResFrame {
  frameId: number;
  results: string[];
  /** More parts of this frame's answer follow. */
  part?: boolean;
}
interface Result {
  code: number;
  message: string;
  value?: string;
}

/** Stands in for a grpc-js duplex stream: records frames written and lets the test emit replies and errors. */
class FakeStream extends EventEmitter {
  readonly written: ReqFrame[] = [];
  cancelled = false;
  write(frame: ReqFrame): boolean {
    this.written.push(frame);
    this.emit('written', frame);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  /** Answers a written frame, one result per item: "<item>!" */
  answer(frame: ReqFrame, results = frame.items.map((i) => `${i}!`)): void {
    this.emit('data', { frameId: frame.frameId, results } satisfies ResFrame);
  }
}

interface Harness {
  batched: BatchedStream<string, Result, ReqFrame, ResFrame>;
  streams: FakeStream[];
  /** The stream most recently opened. */
  stream(): FakeStream;
  decodeCalls: number;
  repliesSeen: number[];
}

function harness(
  opts: {
    maxItemsPerFrame?: number;
    maxFramesInFlight?: number;
    /** Items are sized by their length. */
    maxFrameBytes?: number;
    flightBudgetMs?: number;
    retireSilentStreams?: boolean;
    /** Deadlines and budgets on a clock the test moves; real time otherwise. */
    clock?: VirtualClock;
    encode?: FrameCodec<string, Result, ReqFrame, ResFrame>['encode'];
  } = {},
): Harness {
  const h: Harness = {
    streams: [],
    stream: () => h.streams[h.streams.length - 1]!,
    decodeCalls: 0,
    repliesSeen: [],
    batched: undefined as unknown as Harness['batched'],
  };
  h.batched = new BatchedStream<string, Result, ReqFrame, ResFrame>(
    () => {
      const s = new FakeStream();
      h.streams.push(s);
      return s as unknown as grpc.ClientDuplexStream<ReqFrame, ResFrame>;
    },
    {
      encode: opts.encode ?? ((items, frameId, deadlineMs) => ({ frameId, items, deadlineMs })),
      frameIdOf: (reply) => reply.frameId,
      decode: (reply) => {
        h.decodeCalls++;
        return reply.results.map((value) => ({ code: Code.OK, message: '', value }));
      },
      failure: (code, message) => ({ code, message }),
      onReply: (reply) => h.repliesSeen.push(reply.frameId),
      isPart: (reply) => reply.part === true,
      itemBytes: (item) => item.length,
    },
    {
      peerName: 'node n2',
      maxItemsPerFrame: opts.maxItemsPerFrame,
      maxFramesInFlight: opts.maxFramesInFlight,
      maxFrameBytes: opts.maxFrameBytes,
      flightBudgetMs: opts.flightBudgetMs === undefined ? undefined : () => opts.flightBudgetMs!,
      retireSilentStreams: opts.retireSilentStreams,
      clock: opts.clock,
    },
  );
  return h;
}

/** Waits for the next frame written to `stream` (the flush runs on setImmediate). */
async function nextFrame(stream: () => FakeStream | undefined, h: Harness): Promise<ReqFrame> {
  const s = stream();
  if (s) return (await once(s, 'written'))[0] as ReqFrame;
  // No stream yet: the flush opens one; wait for the turn in which it happens.
  await new Promise<void>((resolve) => setImmediate(resolve));
  return h.stream().written[h.stream().written.length - 1]!;
}

const FAR = () => Date.now() + 60_000;

describe('BatchedStream', () => {
  describe('batching', () => {
    it('sends items queued in one turn of the event loop as one frame', async () => {
      const h = harness();
      const pending = ['a', 'b', 'c'].map((i) => h.batched.send(i, FAR()));
      expect(h.streams).to.have.length(0); // nothing goes out before the turn ends
      const frame = await nextFrame(() => h.streams[0], h);
      expect(frame.items).to.deep.equal(['a', 'b', 'c']);
      expect(h.stream().written).to.have.length(1);
      h.stream().answer(frame);
      expect((await Promise.all(pending)).map((r) => r.value)).to.deep.equal(['a!', 'b!', 'c!']);
    });

    it('sends items queued in different turns as different frames on the same stream', async () => {
      const h = harness();
      const first = h.batched.send('a', FAR());
      const f1 = await nextFrame(() => h.streams[0], h);
      const second = h.batched.send('b', FAR());
      const f2 = await nextFrame(() => h.streams[0], h);
      expect([f1.items, f2.items]).to.deep.equal([['a'], ['b']]);
      expect(f2.frameId).to.not.equal(f1.frameId);
      expect(h.streams).to.have.length(1);
      h.stream().answer(f1);
      h.stream().answer(f2);
      expect((await first).value).to.equal('a!');
      expect((await second).value).to.equal('b!');
    });

    it('flushes a full queue at once, at maxItemsPerFrame, and the rest on the next turn', async () => {
      const h = harness({ maxItemsPerFrame: 2 });
      const pending = ['a', 'b', 'c', 'd', 'e'].map((i) => h.batched.send(i, FAR()));
      // Written synchronously, before any await: the queue was full.
      expect(h.stream().written.map((f) => f.items)).to.deep.equal([
        ['a', 'b'],
        ['c', 'd'],
      ]);
      const last = await nextFrame(() => h.streams[0], h);
      expect(last.items).to.deep.equal(['e']);
      for (const f of h.stream().written) h.stream().answer(f);
      expect((await Promise.all(pending)).map((r) => r.value)).to.deep.equal(['a!', 'b!', 'c!', 'd!', 'e!']);
    });

    it('gives a frame the earliest deadline among its items', async () => {
      const h = harness();
      const early = Date.now() + 30_000;
      const pending = [h.batched.send('a', FAR()), h.batched.send('b', early), h.batched.send('c', FAR())];
      const frame = await nextFrame(() => h.streams[0], h);
      expect(frame.deadlineMs).to.equal(early);
      h.stream().answer(frame);
      await Promise.all(pending);
    });

    it('counts queued and in-flight items as pending until answered', async () => {
      const h = harness();
      const pending = [h.batched.send('a', FAR()), h.batched.send('b', FAR())];
      expect(h.batched.pending).to.equal(2);
      const frame = await nextFrame(() => h.streams[0], h);
      expect(h.batched.pending).to.equal(2);
      h.stream().answer(frame);
      await Promise.all(pending);
      expect(h.batched.pending).to.equal(0);
    });
  });

  describe('replies', () => {
    it('resolve the items of the frame they name, even when frames are answered out of order', async () => {
      const h = harness();
      const first = [h.batched.send('a', FAR()), h.batched.send('b', FAR())];
      const f1 = await nextFrame(() => h.streams[0], h);
      const second = [h.batched.send('c', FAR())];
      const f2 = await nextFrame(() => h.streams[0], h);
      let firstDone = false;
      const firstAll = Promise.all(first).then((r) => {
        firstDone = true;
        return r;
      });
      h.stream().answer(f2, ['C']);
      expect((await Promise.all(second)).map((r) => r.value)).to.deep.equal(['C']);
      expect(firstDone).to.equal(false);
      h.stream().answer(f1, ['A', 'B']);
      expect((await firstAll).map((r) => r.value)).to.deep.equal(['A', 'B']);
      expect(h.repliesSeen).to.deep.equal([f2.frameId, f1.frameId]);
    });

    it('fails the items a short reply leaves out with INTERNAL', async () => {
      const h = harness();
      const pending = [h.batched.send('a', FAR()), h.batched.send('b', FAR())];
      const frame = await nextFrame(() => h.streams[0], h);
      h.stream().answer(frame, ['A']);
      const [a, b] = await Promise.all(pending);
      expect(a!.value).to.equal('A');
      expect(b!.code).to.equal(Code.INTERNAL);
      expect(b!.message).to.contain('node n2').and.to.contain('short reply');
    });

    it('ignores a reply for a frame it never sent', async () => {
      const h = harness();
      const pending = h.batched.send('a', FAR());
      const frame = await nextFrame(() => h.streams[0], h);
      h.stream().answer({ ...frame, frameId: frame.frameId + 100 });
      expect(h.decodeCalls).to.equal(0);
      expect(h.batched.pending).to.equal(1);
      h.stream().answer(frame);
      expect((await pending).value).to.equal('a!');
    });
  });

  describe('deadlines', () => {
    it('resolves a frame past its deadline with DEADLINE_EXCEEDED naming the peer', async () => {
      const h = harness();
      const result = await h.batched.send('a', Date.now() + 20);
      expect(result.code).to.equal(Code.DEADLINE_EXCEEDED);
      expect(result.message).to.contain('node n2');
      expect(h.batched.pending).to.equal(0);
    });

    it('ignores a reply that arrives after the deadline', async () => {
      const h = harness();
      const result = await h.batched.send('a', Date.now() + 20);
      expect(result.code).to.equal(Code.DEADLINE_EXCEEDED);
      const frame = h.stream().written[0]!;
      h.stream().answer(frame);
      expect(h.decodeCalls).to.equal(0);
      expect(h.batched.pending).to.equal(0);
    });

    it('leaves other frames waiting when one frame expires', async () => {
      const h = harness();
      const patient = h.batched.send('a', FAR());
      const patientFrame = await nextFrame(() => h.streams[0], h);
      const hasty = await h.batched.send('b', Date.now() + 20);
      expect(hasty.code).to.equal(Code.DEADLINE_EXCEEDED);
      expect(h.batched.pending).to.equal(1);
      h.stream().answer(patientFrame);
      expect((await patient).code).to.equal(Code.OK);
    });
  });

  describe('retireSilentStreams', () => {
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    // With one item per frame, a send writes its frame at once: the last frame written to stream `i`.
    const lastWritten = (h: Harness, i: number) => h.streams[i]!.written[h.streams[i]!.written.length - 1]!;

    it('sends later frames on a new stream once one expired with no reply since it was sent; the old stream answers what it still carries, then is cancelled', async () => {
      const h = harness({ maxItemsPerFrame: 1, retireSilentStreams: true });
      const patient = h.batched.send('a', FAR());
      const patientFrame = lastWritten(h, 0);
      const hasty = await h.batched.send('b', Date.now() + 20);
      expect(hasty.code).to.equal(Code.DEADLINE_EXCEEDED);
      await turn();
      const later = h.batched.send('c', FAR());
      expect(h.streams).to.have.length(2);
      const laterFrame = lastWritten(h, 1);
      expect(laterFrame.items).to.deep.equal(['c']);
      expect(h.streams[0]!.cancelled).to.equal(false);
      h.streams[0]!.answer(patientFrame);
      expect((await patient).value).to.equal('a!');
      expect(h.streams[0]!.cancelled).to.equal(true);
      h.streams[1]!.answer(laterFrame);
      expect((await later).value).to.equal('c!');
    });

    it('keeps a stream that replied after the expired frame was sent', async () => {
      const h = harness({ maxItemsPerFrame: 1, retireSilentStreams: true });
      const first = h.batched.send('a', FAR());
      const firstFrame = lastWritten(h, 0);
      const hasty = h.batched.send('b', Date.now() + 20);
      h.streams[0]!.answer(firstFrame);
      expect((await first).value).to.equal('a!');
      expect((await hasty).code).to.equal(Code.DEADLINE_EXCEEDED);
      await turn();
      const later = h.batched.send('c', FAR());
      expect(h.streams).to.have.length(1);
      h.streams[0]!.answer(lastWritten(h, 0));
      expect((await later).value).to.equal('c!');
    });

    it('keeps a silent stream without the option', async () => {
      const h = harness({ maxItemsPerFrame: 1 });
      expect((await h.batched.send('a', Date.now() + 20)).code).to.equal(Code.DEADLINE_EXCEEDED);
      await turn();
      const later = h.batched.send('b', FAR());
      expect(h.streams).to.have.length(1);
      h.streams[0]!.answer(lastWritten(h, 0));
      expect((await later).value).to.equal('b!');
    });
  });

  describe('a broken stream', () => {
    const cases: [string, number, number][] = [
      ['UNAVAILABLE', Code.UNAVAILABLE, Code.UNAVAILABLE],
      ['INTERNAL', Code.INTERNAL, Code.INTERNAL],
      ['CANCELLED (reported as UNAVAILABLE)', Code.CANCELLED, Code.UNAVAILABLE],
      ['OK (reported as UNAVAILABLE)', Code.OK, Code.UNAVAILABLE],
    ];
    for (const [name, errorCode, expected] of cases) {
      it(`fails in-flight items with code ${expected} on an error with code ${name}`, async () => {
        const h = harness();
        const pending = [h.batched.send('a', FAR()), h.batched.send('b', FAR())];
        await nextFrame(() => h.streams[0], h);
        h.stream().emit(
          'error',
          Object.assign(new Error('boom'), { code: errorCode, details: 'socket closed' }),
        );
        for (const r of await Promise.all(pending)) {
          expect(r.code).to.equal(expected);
          expect(r.message).to.equal('node n2: socket closed');
        }
      });
    }

    it('uses the error’s message when it has no details', async () => {
      const h = harness();
      const pending = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      h.stream().emit(
        'error',
        Object.assign(new Error('read ECONNRESET'), { code: Code.UNAVAILABLE, details: '' }),
      );
      expect((await pending).message).to.equal('node n2: read ECONNRESET');
    });

    it('fails in-flight items with UNAVAILABLE when the peer ends the stream', async () => {
      const h = harness();
      const pending = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      h.stream().emit('end');
      const r = await pending;
      expect(r.code).to.equal(Code.UNAVAILABLE);
      expect(r.message).to.contain('ended the stream');
    });

    it("takes a stream's error whose ringcache error code is UNAVAILABLE for an unreachable node, whatever its gRPC status", async () => {
      const h = harness();
      const refused = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      // A connection past the node's max_connections: RESOURCE_EXHAUSTED for gRPC, nothing applied.
      const trailers = new grpc.Metadata();
      trailers.set(METADATA.errorCode, 'UNAVAILABLE');
      h.stream().emit(
        'error',
        Object.assign(new Error('x'), {
          code: Code.RESOURCE_EXHAUSTED,
          details: 'limits.max_connections is 20',
          metadata: trailers,
        }),
      );
      const r = await refused;
      expect(r.code).to.equal(Code.UNAVAILABLE);
      expect(r.message).to.contain('limits.max_connections is 20');
      // Without that code, the status stands.
      const other = h.batched.send('b', FAR());
      await nextFrame(() => h.streams[1], h);
      h.stream().emit(
        'error',
        Object.assign(new Error('y'), { code: Code.RESOURCE_EXHAUSTED, details: 'full' }),
      );
      expect((await other).code).to.equal(Code.RESOURCE_EXHAUSTED);
    });

    it('opens a new stream for the next send', async () => {
      const h = harness();
      const lost = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      h.streams[0]!.emit('error', Object.assign(new Error('x'), { code: Code.UNAVAILABLE }));
      await lost;
      const retried = h.batched.send('b', FAR());
      const frame = await nextFrame(() => undefined, h);
      expect(h.streams).to.have.length(2);
      expect(h.streams[1]!.written.map((f) => f.items)).to.deep.equal([['b']]);
      h.streams[1]!.answer(frame);
      expect((await retried).value).to.equal('b!');
    });

    it('sends items queued but not yet flushed on the new stream rather than failing them', async () => {
      const h = harness();
      const inFlight = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      const queued = h.batched.send('b', FAR());
      h.streams[0]!.emit('error', Object.assign(new Error('x'), { code: Code.UNAVAILABLE }));
      expect((await inFlight).code).to.equal(Code.UNAVAILABLE);
      const frame = await nextFrame(() => undefined, h);
      expect(frame.items).to.deep.equal(['b']);
      h.streams[1]!.answer(frame);
      expect((await queued).value).to.equal('b!');
    });

    it('ignores errors from a stream it has already replaced', async () => {
      const h = harness();
      const lost = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      h.streams[0]!.emit('end');
      await lost;
      const current = h.batched.send('b', FAR());
      const frame = await nextFrame(() => undefined, h);
      h.streams[0]!.emit('error', Object.assign(new Error('late'), { code: Code.UNAVAILABLE }));
      expect(h.batched.pending).to.equal(1);
      h.streams[1]!.answer(frame);
      expect((await current).value).to.equal('b!');
    });

    it('fails a frame that cannot be encoded with INTERNAL and keeps the stream', async () => {
      let calls = 0;
      const h = harness({
        encode: (items, frameId, deadlineMs) => {
          if (calls++ === 0) throw new Error('unencodable');
          return { frameId, items, deadlineMs };
        },
      });
      const bad = await h.batched.send('a', FAR());
      expect(bad.code).to.equal(Code.INTERNAL);
      expect(bad.message).to.contain('unencodable');
      const good = h.batched.send('b', FAR());
      const frame = await nextFrame(() => h.streams[0], h);
      h.stream().answer(frame);
      expect((await good).value).to.equal('b!');
      expect(h.streams).to.have.length(1);
    });
  });

  describe('close', () => {
    it('fails queued and in-flight items with UNAVAILABLE and cancels the stream', async () => {
      const h = harness();
      const inFlight = h.batched.send('a', FAR());
      await nextFrame(() => h.streams[0], h);
      const queued = h.batched.send('b', FAR());
      h.batched.close();
      for (const r of [await inFlight, await queued]) {
        expect(r.code).to.equal(Code.UNAVAILABLE);
        expect(r.message).to.contain('node n2');
      }
      expect(h.streams[0]!.cancelled).to.equal(true);
      expect(h.batched.pending).to.equal(0);
    });

    it('fails items queued before any stream was opened, without opening one', async () => {
      const h = harness();
      const queued = h.batched.send('a', FAR());
      h.batched.close();
      expect((await queued).code).to.equal(Code.UNAVAILABLE);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(h.streams).to.have.length(0);
    });

    it('answers later sends with UNAVAILABLE at once and is idempotent', async () => {
      const h = harness();
      h.batched.close();
      h.batched.close();
      const r = await h.batched.send('a', FAR());
      expect(r.code).to.equal(Code.UNAVAILABLE);
      expect(r.message).to.contain('closed');
      expect(h.streams).to.have.length(0);
    });
  });
});

describe('BatchedStream with maxFramesInFlight', () => {
  it('holds items sent while a frame is in flight and sends them together when its reply comes', async () => {
    const h = harness({ maxFramesInFlight: 1 });
    const first = h.batched.send('a', Date.now() + 5000);
    await new Promise((r) => setImmediate(r));
    const stream = h.stream();
    expect(stream.written.map((f) => f.items)).to.deep.equal([['a']]);
    const later = [h.batched.send('b', Date.now() + 5000), h.batched.send('c', Date.now() + 5000)];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(stream.written.length, 'b and c wait for the reply to a').to.equal(1);
    stream.answer(stream.written[0]!);
    expect((await first).value).to.equal('a!');
    await new Promise((r) => setImmediate(r));
    expect(stream.written.map((f) => f.items)).to.deep.equal([['a'], ['b', 'c']]);
    stream.answer(stream.written[1]!);
    expect((await Promise.all(later)).map((r) => r.value)).to.deep.equal(['b!', 'c!']);
  });

  it('fails an item waiting behind a full window when its own deadline passes, without sending it', async () => {
    const h = harness({ maxFramesInFlight: 1 });
    let slowSettled = false;
    void h.batched.send('slow', Date.now() + 60_000).then(() => (slowSettled = true));
    await new Promise((r) => setImmediate(r));
    const stream = h.stream();
    const waiting = await h.batched.send('hurried', Date.now() + 30);
    expect(waiting.code).to.equal(Code.DEADLINE_EXCEEDED);
    // Failed by its own deadline, not when the frame ahead of it ended (no time bound: a loaded
    // machine may run the 30 ms timer late).
    expect(slowSettled, 'the frame ahead still unanswered').to.equal(false);
    expect(stream.written.map((f) => f.items)).to.deep.equal([['slow']]);
    h.batched.close();
  });
});

// A frame is one gRPC message, limited to 64 MiB: at 54f3451 80 concurrent sets of 1 MiB made one
// 80 MiB frame and all failed, and 80 gets of them one 80 MiB reply.
describe('BatchedStream with large items', () => {
  it('stops a frame at maxFrameBytes of items, and sends an item larger than that alone', async () => {
    const h = harness({ maxFrameBytes: 10, maxFramesInFlight: 1 });
    const items = ['aaaa', 'bbbb', 'cc', 'dddddddddddddd', 'e'];
    const pending = items.map((i) => h.batched.send(i, FAR()));
    const sent: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const frame = await nextFrame(() => h.streams[0], h);
      sent.push(frame.items);
      h.stream().answer(frame);
    }
    expect(sent).to.deep.equal([['aaaa', 'bbbb', 'cc'], ['dddddddddddddd'], ['e']]);
    expect((await Promise.all(pending)).map((r) => r.value)).to.deep.equal(items.map((i) => `${i}!`));
  });

  it("tells the codec each frame's bytes of items, so that it can size its buffer", async () => {
    const bytes: number[] = [];
    const h = harness({
      maxFrameBytes: 10,
      maxFramesInFlight: 1,
      encode: (items, frameId, deadlineMs, itemBytes) => {
        bytes.push(itemBytes);
        return { frameId, items, deadlineMs };
      },
    });
    const pending = ['aaaa', 'bbbb', 'cc', 'dddddddddddddd'].map((i) => h.batched.send(i, FAR()));
    for (let i = 0; i < 2; i++) {
      const frame = await nextFrame(() => h.streams[0], h);
      h.stream().answer(frame);
    }
    await Promise.all(pending);
    expect(bytes).to.deep.equal([10, 14]);
  });

  it('resolves the items of a reply in parts as each part arrives, and the rest with the last', async () => {
    const h = harness();
    const pending = ['a', 'b', 'c', 'd'].map((i) => h.batched.send(i, FAR()));
    const settled: string[] = [];
    pending.forEach((p, i) => void p.then(() => settled.push(['a', 'b', 'c', 'd'][i]!)));
    const frame = await nextFrame(() => h.streams[0], h);
    h.stream().emit('data', { frameId: frame.frameId, results: ['a!'], part: true });
    await new Promise((r) => setImmediate(r));
    expect(settled).to.deep.equal(['a']);
    expect(h.batched.pending, 'b, c and d still wait').to.equal(3);
    h.stream().emit('data', { frameId: frame.frameId, results: ['b!', 'c!'], part: true });
    h.stream().emit('data', { frameId: frame.frameId, results: ['d!'] });
    expect((await Promise.all(pending)).map((r) => r.value)).to.deep.equal(['a!', 'b!', 'c!', 'd!']);
    expect(h.batched.pending).to.equal(0);
  });

  it('fails with INTERNAL what a last part leaves out, and a deadline only what no part answered', async () => {
    const clock = new VirtualClock();
    const h = harness({ clock });
    const short = ['a', 'b', 'c'].map((i) => h.batched.send(i, clock.now() + 60_000));
    const f1 = await nextFrame(() => h.streams[0], h);
    h.stream().emit('data', { frameId: f1.frameId, results: ['a!'], part: true });
    h.stream().emit('data', { frameId: f1.frameId, results: ['b!'] });
    expect((await Promise.all(short)).map((r) => r.code)).to.deep.equal([Code.OK, Code.OK, Code.INTERNAL]);

    const late = ['x', 'y'].map((i) => h.batched.send(i, clock.now() + 80));
    const f2 = await nextFrame(() => h.streams[0], h);
    h.stream().emit('data', { frameId: f2.frameId, results: ['x!'], part: true });
    await clock.advance(80);
    const [x, y] = await Promise.all(late);
    expect(x!.value).to.equal('x!');
    expect(y!.code).to.equal(Code.DEADLINE_EXCEEDED);
  });

  it('restarts the flight budget with each part, so a long reply that keeps coming is not taken for a stall', async () => {
    // A part every 700 ms (virtual time) against a budget of 800: the reply takes 2.8 s in all.
    const clock = new VirtualClock();
    const h = harness({ flightBudgetMs: 800, clock });
    let stalls = 0;
    const pending = ['a', 'b', 'c', 'd'].map((i) => h.batched.send(i, clock.now() + 60_000, () => stalls++));
    const frame = await nextFrame(() => h.streams[0], h);
    for (const item of ['a', 'b', 'c']) {
      await clock.advance(700);
      h.stream().emit('data', { frameId: frame.frameId, results: [`${item}!`], part: true });
    }
    await clock.advance(700);
    h.stream().answer(frame, ['d!']);
    const results = await Promise.all(pending);
    expect(
      results.map((r) => r.code),
      '2.8 s in all, never 800 ms without a part',
    ).to.deep.equal([0, 0, 0, 0]);
    expect(stalls, 'never taken for a stall').to.equal(0);
  });
});

describe('BatchedStream flight budget', () => {
  it('tells the callers of a frame unanswered past its budget and those queued behind it, once, and answers them when the replies come late', async () => {
    const clock = new VirtualClock();
    const h = harness({ flightBudgetMs: 50, maxFramesInFlight: 1, clock });
    const stalls: string[] = [];
    const sent = h.batched.send('a', clock.now() + 60_000, () => stalls.push('a'));
    const first = await nextFrame(() => h.streams[0], h);
    const queued = h.batched.send('b', clock.now() + 60_000, () => stalls.push('b'));
    await clock.advance(49);
    expect(stalls, 'none told within the budget').to.deep.equal([]);
    await clock.advance(1);
    expect(stalls, 'both told').to.deep.equal(['a', 'b']);
    expect(h.stream().written, 'b waits for the window').to.have.length(1);
    h.stream().answer(first);
    expect((await sent).value, 'the late reply still answers a').to.equal('a!');
    const second = await nextFrame(() => h.streams[0], h);
    expect(second.items).to.deep.equal(['b']);
    h.stream().answer(second);
    expect((await queued).value).to.equal('b!');
    expect(stalls, 'each told once').to.deep.equal(['a', 'b']);
  });

  it('gives an item sent without OnStall, and the frame carrying it, until its deadline; one queued behind a stall stays', async () => {
    const clock = new VirtualClock();
    const h = harness({ flightBudgetMs: 30, maxFramesInFlight: 1, clock });
    let told = false;
    const impatient = h.batched.send('a', clock.now() + 60_000, () => (told = true));
    const first = await nextFrame(() => h.streams[0], h);
    const patientBehind = h.batched.send('b', clock.now() + 60_000);
    await clock.advance(30);
    expect(told, 'a told of the stall').to.equal(true);
    h.stream().answer(first);
    expect((await impatient).value).to.equal('a!');
    // The window is free again: b goes out alone, with no budget.
    const second = await nextFrame(() => h.streams[0], h);
    expect([first.items, second.items]).to.deep.equal([['a'], ['b']]);
    await clock.advance(100);
    h.stream().answer(second);
    expect((await patientBehind).value, 'answered after 100 ms, past the 30 ms budget').to.equal('b!');
    const late = h.batched.send('c', clock.now() + 60);
    await nextFrame(() => h.streams[0], h);
    await clock.advance(60);
    expect((await late).code, 'never past its own deadline').to.equal(Code.DEADLINE_EXCEEDED);
  });
});
