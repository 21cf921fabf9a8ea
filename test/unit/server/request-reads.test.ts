import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { ClientInputBudget } from '../../../src/server/client-input';
import { RequestReads, type ReadRefusal } from '../../../src/server/request-reads';
import { ManualTime } from '../../support/manual-time';

const MiB = 1024 * 1024;

/** A call's HTTP/2 stream as RequestReads sees it: chunks pushed by the test, paused or not. */
class FakeStream extends EventEmitter {
  paused = false;
  /** Bytes the test says came in while paused. */
  readableLength = 0;
  /** The code the stream was reset with, if it was. */
  resetWith: number | undefined;
  closed = false;
  /** Its connection, when a test gives one (else each stream is a connection of its own). */
  session: object | undefined;
  close(code: number): void {
    this.resetWith = code;
    this.closed = true;
    this.emit('close');
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  /** The first chunk of a message of `bytes`: its gRPC prefix and `first` bytes of it. */
  start(bytes: number, first = 16 * 1024): void {
    this.emit('data', Buffer.concat([prefix(bytes), Buffer.alloc(Math.min(first, bytes))]));
  }
  send(bytes: number): void {
    this.emit('data', Buffer.alloc(bytes));
  }
  end(): void {
    this.closed = true;
    this.emit('close');
  }
}

/** A gRPC message's prefix: not compressed, `bytes` long. */
function prefix(bytes: number): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(bytes, 1);
  return p;
}

function setup(maxBytes = 8 * MiB, maxCalls?: number) {
  const time = new ManualTime();
  const input = new ClientInputBudget(maxBytes);
  const resets: string[] = [];
  const reads = new RequestReads(input, {
    maxMessageBytes: 32 * MiB,
    stallMs: 1000,
    stalledCallMs: 60_000,
    windowBytes: 64 * 1024,
    maxCalls,
    onEnded: (refusal: ReadRefusal) => resets.push(refusal.limit),
    scheduler: time,
  });
  // Followed before it flows; then grpc-js asks it to flow (its startRead).
  const stream = (streaming = false, endCall?: (message: string) => void, session?: object) => {
    const s = new FakeStream();
    s.session = session;
    s.pause();
    reads.watch(s, streaming, endCall);
    s.resume();
    return s;
  };
  return { time, input, reads, stream, resets };
}

describe("RequestReads: clients' requests read within max_client_input_bytes", () => {
  it("takes a request's length in the budget at its first bytes, and gives it back when its call ends unclaimed", () => {
    const { input, stream } = setup();
    const s = stream();
    s.start(MiB);
    expect(input.heldBytes).to.equal(MiB + 5);
    s.send(MiB - 16 * 1024);
    expect(input.heldBytes, 'held while its handler runs').to.equal(MiB + 5);
    s.end();
    expect(input.heldBytes).to.equal(0);
  });

  it('does not hold back or count a request whose bytes come whole with its prefix', () => {
    const { input, reads, stream } = setup();
    const big = stream();
    big.start(8 * MiB); // the budget's all
    const small = stream();
    small.start(100, 100);
    expect(small.paused).to.equal(false);
    expect(input.heldBytes).to.equal(8 * MiB + 5);
    // Its handler counts it as any request: here in the reserve kept for small ones.
    expect(reads.take(small, 100)).to.equal(-100);
  });

  it('counts the bytes of the messages read in pieces, for the memory guard, and not those that came whole', () => {
    const { reads, stream } = setup();
    stream().start(100, 100);
    expect(reads.bytesReadInPieces, 'whole in its first chunk').to.equal(0);
    const s = stream();
    s.start(MiB);
    s.send(MiB - 16 * 1024);
    expect(reads.bytesReadInPieces).to.equal(MiB + 5);
    const waiting = [stream(), stream()];
    for (const w of waiting) w.start(4 * MiB); // no room: they wait, and are counted as they came
    expect(reads.bytesReadInPieces).to.equal(MiB + 5 + 2 * (4 * MiB + 5));
    s.end(); // room for one: they are not counted again as they are woken
    expect(waiting.map((w) => w.paused)).to.deep.equal([false, true]);
    expect(reads.bytesReadInPieces).to.equal(MiB + 5 + 2 * (4 * MiB + 5));
  });

  it('pauses a request that has no room, and resumes it once the node has room', () => {
    const { input, reads, stream } = setup();
    const first = stream();
    first.start(6 * MiB);
    const second = stream();
    second.start(4 * MiB);
    expect(second.paused, 'no room for 4 MiB more').to.equal(true);
    expect(reads.waiting).to.equal(1);
    expect(input.heldBytes, 'the waiting one holds nothing').to.equal(6 * MiB + 5);
    first.send(6 * MiB);
    first.end();
    expect(second.paused).to.equal(false);
    expect(reads.waiting).to.equal(0);
    expect(input.heldBytes).to.equal(4 * MiB + 5);
  });

  it("hands a read's hold to its handler, which counts its request's bytes instead, however full the node", () => {
    const { input, reads, stream } = setup();
    const s = stream();
    s.start(7 * MiB);
    s.send(7 * MiB);
    const other = stream();
    other.start(100, 100);
    expect(reads.take(other, MiB + 3000), 'no room for a request read without a hold').to.equal(undefined);
    const held = reads.take(s, 7 * MiB + 3000);
    expect(held).to.equal(7 * MiB + 3000);
    expect(input.heldBytes, 'its bytes, not its read').to.equal(7 * MiB + 3000);
    s.end();
    expect(input.heldBytes, 'held until answered').to.equal(7 * MiB + 3000);
    input.release(held!);
    expect(input.heldBytes).to.equal(0);
  });

  it("follows a stream's messages across chunks, each handler taking its own message's hold", async () => {
    const { input, reads, stream } = setup();
    const s = stream(true);
    // One chunk: a message of 10 bytes whole, then the prefix and first bytes of one of 2 MiB.
    s.emit('data', Buffer.concat([prefix(10), Buffer.alloc(10), prefix(2 * MiB), Buffer.alloc(1000)]));
    expect(input.heldBytes).to.equal(2 * MiB + 5);
    // The rest of it, and a third message of 3 MiB begun in the same chunk.
    s.emit('data', Buffer.concat([Buffer.alloc(2 * MiB - 1000), prefix(3 * MiB), Buffer.alloc(10)]));
    expect(input.heldBytes).to.equal(2 * MiB + 5 + 3 * MiB + 5);
    expect(reads.take(s, 10), 'the first, whole in its chunk: taken as any request').to.equal(10);
    expect(reads.take(s, 2 * MiB), "the second: its read's hold becomes its own").to.equal(2 * MiB);
    expect(input.heldBytes).to.equal(10 + 2 * MiB + 3 * MiB + 5);
    s.send(3 * MiB - 10);
    // Not taken by its handler within the turn: its room goes back.
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.heldBytes).to.equal(10 + 2 * MiB);
    expect(reads.take(s, 3 * MiB), 'then taken as any request').to.equal(3 * MiB);
  });

  it('reads a prefix that comes in pieces', () => {
    const { input, stream } = setup();
    const s = stream();
    const head = prefix(3 * MiB);
    s.emit('data', head.subarray(0, 2));
    expect(input.heldBytes).to.equal(0);
    s.emit('data', head.subarray(2));
    expect(input.heldBytes).to.equal(3 * MiB + 5);
  });

  it('takes back the room of a read that stalls: it holds what it received, and others read', () => {
    const { time, input, reads, stream } = setup();
    const slow = stream();
    slow.start(8 * MiB, 1000); // claims the whole budget, sends 1,000 bytes of it
    const waiting = stream();
    waiting.start(MiB);
    expect(waiting.paused).to.equal(true);
    time.advance(400);
    expect(waiting.paused, 'not stalled yet').to.equal(true);
    time.advance(1000);
    expect(slow.paused, 'the stalled read is paused').to.equal(true);
    expect(waiting.paused, 'the waiting read reads').to.equal(false);
    expect(input.heldBytes).to.equal(1005 + MiB + 5);
    waiting.send(MiB);
    waiting.end();
    time.advance(1000);
    expect(slow.paused, 'nothing more came: it stays paused').to.equal(true);
    slow.readableLength = 100; // more came, and waits in the stream's buffer
    time.advance(500);
    expect(slow.paused, 'its length finds room again').to.equal(false);
    expect(input.heldBytes).to.equal(8 * MiB + 5);
    expect(reads.waiting).to.equal(0);
    slow.end();
    expect(input.heldBytes).to.equal(0);
    time.advance(1000);
    expect(time.pendingTimers, 'no stall check once no read holds room').to.equal(0);
  });

  it('takes back the room of a read that stalls though no read waits, so that streams waiting for room read on', () => {
    const { time, input, stream } = setup();
    const slow = stream();
    slow.start(8 * MiB, 1000);
    expect(input.full).to.equal(true);
    time.advance(1500);
    expect(slow.paused).to.equal(true);
    expect(input.heldBytes).to.equal(1005);
    expect(input.full).to.equal(false);
  });

  it("moves a stalled read's bytes out of the budget: a read waiting for all of it reads", () => {
    const { time, input, stream } = setup();
    const slow = stream();
    slow.start(8 * MiB, 1000);
    const waiting = stream();
    waiting.start(8 * MiB);
    time.advance(1500);
    expect([slow.paused, waiting.paused]).to.deep.equal([true, false]);
    expect([input.bytes, input.stalledBytes, input.heldBytes]).to.deep.equal([
      8 * MiB + 5,
      1005,
      8 * MiB + 5 + 1005,
    ]);
    slow.readableLength = 100;
    waiting.send(MiB);
    time.advance(500);
    expect(slow.paused, 'more came, but its length has no room').to.equal(true);
    waiting.send(7 * MiB);
    waiting.end();
    expect(slow.paused).to.equal(false);
    expect([input.bytes, input.stalledBytes]).to.deep.equal([8 * MiB + 5, 0]);
  });

  it('resets the oldest stalled calls once stalled reads hold more than the budget again', () => {
    const { time, input, stream, resets } = setup();
    const first = stream();
    first.start(6 * MiB, 5 * MiB);
    const second = stream();
    second.start(6 * MiB, 4 * MiB);
    expect(second.paused).to.equal(true);
    time.advance(1000); // the first stalls: the second has room, and reads
    expect([first.paused, second.paused]).to.deep.equal([true, false]);
    time.advance(1500); // the second stalls too: 9 MiB stalled, past the 8 MiB budget
    expect(first.resetWith, 'the oldest, reset with ENHANCE_YOUR_CALM').to.equal(0xb);
    expect(second.resetWith).to.equal(undefined);
    expect([input.bytes, input.stalledBytes]).to.deep.equal([0, 4 * MiB + 5]);
    expect(resets).to.deep.equal(['max_client_input_bytes']);
  });

  it('resets a call whose client stays silent in the middle of a message for idle_timeout_ms, and no other', () => {
    const { time, input, stream, resets } = setup();
    const silent = stream();
    silent.start(2 * MiB, MiB);
    const slow = stream();
    slow.start(2 * MiB, MiB);
    time.advance(1000); // both stall, holding what they received apart
    expect(input.stalledBytes).to.equal(2 * (MiB + 5));
    // 55 s more, and 3 of the slow one's turns at 500 ms each: 59 s from the silent one's last bytes.
    for (let s = 0; s < 55; s++) {
      time.advance(1000);
      if (s % 10 === 0) {
        slow.readableLength = 1000; // a few bytes now and then: it is slow, not silent
        time.advance(500);
        slow.readableLength = 0;
        slow.send(1000);
      }
    }
    expect(silent.resetWith, 'silent for 59 s: not yet').to.equal(undefined);
    time.advance(1500);
    expect(silent.resetWith, 'reset with ENHANCE_YOUR_CALM').to.equal(0xb);
    expect(slow.resetWith).to.equal(undefined);
    expect(resets).to.deep.equal(['idle_timeout_ms']);
    expect(input.stalledBytes, "only the slow call's bytes are held").to.equal(MiB + 5 + 6 * 1000);
  });

  it('refuses a read that would wait once the budget holds the stream windows of all that wait', () => {
    const { input, reads, stream, resets } = setup();
    const big = stream();
    big.start(8 * MiB); // the budget's all
    // 8 MiB holds 128 windows of 64 KiB: each read waiting may receive that much before it is paused.
    const ended: string[] = [];
    const waiting = Array.from({ length: 130 }, (_, i) => {
      // The last one's call is ended with a status (the interceptor's way); the other's is reset.
      const s = stream(false, i === 129 ? (message) => ended.push(message) : undefined);
      s.start(MiB);
      return s;
    });
    expect(reads.waiting).to.equal(128);
    expect(waiting.slice(0, 128).every((s) => s.paused && s.resetWith === undefined)).to.equal(true);
    expect(waiting[128]!.resetWith, 'reset with ENHANCE_YOUR_CALM').to.equal(0xb);
    expect(ended).to.deep.equal([
      'too many requests wait for room in limits.max_client_input_bytes, 8388608 bytes; send fewer at once',
    ]);
    expect(resets).to.deep.equal(['max_client_input_bytes', 'max_client_input_bytes']);
    big.end();
    expect(reads.waiting, 'the oldest read on once there is room').to.be.below(128);
    expect(input.heldBytes).to.be.at.most(8 * MiB + 5);
  });

  it("refuses a new call before a stream that has had a message read (an SDK's Pipeline stream)", () => {
    const { reads, stream, resets } = setup();
    const sdk = stream(true, () => expect.fail('a stream that may have answered is not given a status'));
    sdk.emit('data', Buffer.concat([prefix(10), Buffer.alloc(10)])); // a frame, read whole
    const big = stream();
    big.start(8 * MiB); // the budget's all
    const calls = Array.from({ length: 128 }, () => {
      const s = stream();
      s.start(MiB);
      return s;
    });
    sdk.start(MiB); // its next frame, in pieces: past the bound, but the newest new call goes
    expect(reads.waiting).to.equal(128);
    expect([sdk.paused, sdk.resetWith]).to.deep.equal([true, undefined]);
    expect(calls[127]!.resetWith).to.equal(0xb);
    expect(calls.slice(0, 127).every((s) => s.resetWith === undefined)).to.equal(true);
    expect(resets).to.deep.equal(['max_client_input_bytes']);
  });

  it('refuses from the connection with the most reads waiting, so one flooding client is refused its own', () => {
    const { reads, stream } = setup();
    const flooder = {};
    const big = stream();
    big.start(8 * MiB);
    const flood = Array.from({ length: 128 }, () => {
      const s = stream(false, undefined, flooder);
      s.start(MiB);
      return s;
    });
    // Another client's calls, each on a connection of its own: the flood's newest give way.
    const others = Array.from({ length: 3 }, () => {
      const s = stream(false, undefined, {});
      s.start(MiB);
      return s;
    });
    expect(reads.waiting).to.equal(128);
    expect(others.every((s) => s.paused && s.resetWith === undefined)).to.equal(true);
    expect(flood.filter((s) => s.resetWith === 0xb).length).to.equal(3);
    expect(
      flood.slice(125).every((s) => s.resetWith === 0xb),
      'the newest',
    ).to.equal(true);
  });

  it('counts nothing for a stalled read whose client closes it (grpc-js resumes the stream then)', () => {
    const { time, reads, stream, resets } = setup();
    const big = stream();
    big.start(8 * MiB);
    for (let i = 0; i < 128; i++) stream().start(MiB);
    big.send(100);
    time.advance(1500); // the big read stalls: the waiting reads take its room
    expect(reads.waiting).to.be.below(128);
    for (let i = 0; i < 10; i++) stream().start(MiB); // the line is full again, past it refused
    const refused = resets.length;
    big.closed = true; // its client resets it: grpc-js resumes the stream to drop what comes
    big.resume();
    big.emit('close');
    expect(resets.length, 'no refusal for a call its client ended').to.equal(refused);
  });

  it('refuses a call past max_client_calls before it starts, and takes one again once a call ends', () => {
    const { reads, resets: limits } = setup(8 * MiB, 3);
    const ended: string[] = [];
    const open = Array.from({ length: 3 }, () => new FakeStream());
    expect(open.map((s) => reads.watch(s, true, () => expect.fail('not refused')))).to.deep.equal([
      true,
      true,
      true,
    ]);
    const fourth = new FakeStream();
    expect(reads.watch(fourth, false, (message) => ended.push(message))).to.equal(false);
    expect(ended).to.deep.equal([
      '3 calls of clients are open on this node already (limits.max_client_calls); close some first',
    ]);
    expect(limits).to.deep.equal(['max_client_calls']);
    open[0]!.end();
    expect(reads.watch(new FakeStream(), false, () => expect.fail('not refused'))).to.equal(true);
  });

  it('counts calls in max_client_calls while the node drains, and follows none of them', () => {
    const { reads, input } = setup(8 * MiB, 2);
    const before = new FakeStream();
    reads.watch(before, false);
    reads.close();
    const during = new FakeStream();
    expect(reads.watch(during, false, () => expect.fail('not refused'))).to.equal(true);
    during.start(MiB);
    expect(input.heldBytes, 'not followed').to.equal(0);
    const refused: string[] = [];
    expect(reads.watch(new FakeStream(), false, (message) => refused.push(message))).to.equal(false);
    expect(refused).to.have.length(1);
    before.end();
    expect(reads.watch(new FakeStream(), false, () => expect.fail('not refused'))).to.equal(true);
  });

  it('makes no room while the node drains: a call in the middle of its message may have been answered', () => {
    const { reads } = setup(8 * MiB, 2);
    const crowded = {};
    const open = Array.from({ length: 2 }, () => {
      const s = new FakeStream();
      s.session = crowded;
      reads.watch(s, false, () => expect.fail('not ended as unanswered'));
      s.start(MiB); // half read as the node starts draining
      return s;
    });
    reads.close();
    const other = new FakeStream();
    other.session = {};
    const refused: string[] = [];
    expect(reads.watch(other, false, (message) => refused.push(message))).to.equal(false);
    expect(refused).to.have.length(1);
    expect(open.map((s) => s.closed)).to.deep.equal([false, false]);
  });

  it('counts a call it does not follow in max_client_calls, reads none of it, and resets it to make room', () => {
    const { reads, input } = setup(8 * MiB, 2);
    const watcher = {};
    const topology = new FakeStream();
    topology.session = watcher;
    expect(reads.watch(topology, true, () => expect.fail('not refused'), true)).to.equal(true);
    topology.start(MiB); // what it sends is not followed: nothing held, nothing counted
    expect(input.heldBytes).to.equal(0);
    expect(reads.bytesReadInPieces).to.equal(0);
    const health = new FakeStream();
    health.session = watcher;
    reads.watch(health, false, () => expect.fail('not refused'), true);
    const mine = new FakeStream();
    mine.session = {};
    expect(reads.watch(mine, false), "another client's call starts").to.equal(true);
    expect(health.resetWith, "the watcher's newest gives way, reset (it has been answering)").to.equal(0xb);
    topology.end();
    expect(reads.watch(new FakeStream(), false, () => expect.fail('not refused'), true)).to.equal(true);
  });

  it('counts the streams its clients hold open (streams of requests, calls only counted), not unary calls', () => {
    const { reads } = setup(8 * MiB, 100);
    const unary = new FakeStream();
    const pipeline = new FakeStream();
    const topology = new FakeStream();
    reads.watch(unary, false);
    reads.watch(pipeline, true);
    reads.watch(topology, false, undefined, true);
    expect(reads.streamsHeld).to.equal(2);
    unary.end();
    pipeline.end();
    expect(reads.streamsHeld).to.equal(1);
    topology.close(0xb);
    expect(reads.streamsHeld).to.equal(0);
  });

  it("makes room past max_client_calls from the connection with the most calls open, for another client's call", () => {
    const { reads, resets: limits } = setup(8 * MiB, 3);
    const flooder = {};
    const flood = Array.from({ length: 3 }, () => {
      const s = new FakeStream();
      s.session = flooder;
      reads.watch(s, true);
      return s;
    });
    const mine = new FakeStream();
    mine.session = {};
    expect(reads.watch(mine, false), "another client's call starts").to.equal(true);
    expect(
      flood.map((s) => s.resetWith),
      "the flood's newest gives way",
    ).to.deep.equal([undefined, undefined, 0xb]);
    const more = new FakeStream();
    more.session = flooder;
    expect(reads.watch(more, true), 'the flood is refused its own').to.equal(false);
    expect(limits).to.deep.equal(['max_client_calls', 'max_client_calls']);
  });

  it('gives back the room of a read whose stream grpc-js holds, without counting it as stalled, and reads on when grpc-js resumes', () => {
    const { time, input, stream } = setup();
    const s = stream(true);
    // A frame whole, then the start of one of 6 MiB; grpc-js holds the stream after the first.
    s.emit('data', Buffer.concat([prefix(10), Buffer.alloc(10), prefix(6 * MiB), Buffer.alloc(1000)]));
    s.pause();
    expect(input.bytes).to.equal(6 * MiB + 5);
    time.advance(1500);
    expect([input.bytes, input.stalledBytes]).to.deep.equal([0, 0]);
    s.resume(); // its handler asks for the next frame
    expect(s.paused).to.equal(false);
    expect(input.bytes).to.equal(6 * MiB + 5);
  });

  it('follows no call once closed (a draining node): a waiting read flows as grpc-js asks', () => {
    const { input, reads, stream } = setup();
    const first = stream();
    first.start(6 * MiB);
    const second = stream();
    second.start(4 * MiB);
    expect(second.paused).to.equal(true);
    reads.close();
    expect(second.paused).to.equal(false);
    expect(input.bytes).to.equal(0);
    expect(reads.waiting).to.equal(0);
  });

  it('keeps a waiting read paused when grpc-js asks its stream to flow, and lets it flow once it has room', () => {
    const { input, stream } = setup();
    const first = stream();
    first.start(6 * MiB);
    const second = stream();
    second.start(4 * MiB);
    second.pause(); // grpc-js: a message whole, handed to its handler
    second.resume(); // and the next asked for
    expect(second.paused, 'still without room').to.equal(true);
    first.end();
    expect(second.paused).to.equal(false);
    expect(input.heldBytes).to.equal(4 * MiB + 5);
  });

  it('lets a waiting read stay paused once it has room, if grpc-js last paused its stream', () => {
    const { stream } = setup();
    const first = stream();
    first.start(6 * MiB);
    const second = stream();
    second.start(4 * MiB);
    second.pause();
    first.end();
    expect(second.paused).to.equal(true);
    second.resume();
    expect(second.paused).to.equal(false);
  });

  it('does not follow a message past max_request_bytes (gRPC refuses it unread), nor a call once it ended', () => {
    const { input, reads, stream } = setup();
    const huge = stream();
    huge.start(64 * MiB);
    expect([huge.paused, input.heldBytes]).to.deep.equal([false, 0]);
    const first = stream();
    first.start(6 * MiB);
    const cancelled = stream();
    cancelled.start(4 * MiB);
    expect(cancelled.paused).to.equal(true);
    reads.ended(cancelled);
    expect(cancelled.paused, 'grpc-js drops what comes: it flows').to.equal(false);
    expect(reads.waiting).to.equal(0);
    cancelled.send(4 * MiB);
    expect(input.heldBytes).to.equal(6 * MiB + 5);
  });

  it('lets a waiting read that fits go ahead of one that does not', () => {
    const { input, stream } = setup();
    const first = stream();
    first.start(5 * MiB);
    const large = stream();
    large.start(6 * MiB);
    const small = stream();
    small.start(2 * MiB);
    expect([large.paused, small.paused]).to.deep.equal([true, false]);
    expect(input.heldBytes).to.equal(7 * MiB + 10);
  });

  it('forgets a waiting read whose call ends', () => {
    const { time, input, reads, stream } = setup();
    const first = stream();
    first.start(8 * MiB);
    const second = stream();
    second.start(MiB);
    second.end();
    expect(reads.waiting).to.equal(0);
    first.end();
    expect(input.heldBytes).to.equal(0);
    time.advance(1000);
    expect(time.pendingTimers, 'no stall check once no read holds room').to.equal(0);
  });
});
