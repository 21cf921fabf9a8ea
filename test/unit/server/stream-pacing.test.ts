import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { constants as http2, type ServerHttp2Session } from 'node:http2';
import { StreamPacer } from '../../../src/server/stream-pacing';

/** A stream as the pacer sees it: a name, whether it is closed, and how it was closed. */
class FakeStream extends EventEmitter {
  destroyed = false;
  closed = false;
  headersSent = false;
  /** What its client sent that nobody read yet. */
  readableLength = 0;
  closedWith: number | undefined;
  /** The status it was answered with, and its message. */
  answered: string | undefined;
  respond(headers: Record<string, string>, opts: { endStream?: boolean }): void {
    expect(opts.endStream).to.equal(true);
    this.headersSent = true;
    this.answered = `${headers['grpc-status']} ${decodeURIComponent(headers['grpc-message']!)}`;
  }
  constructor(readonly name: string) {
    super();
  }
  close(code: number): void {
    this.closedWith = code;
    this.closed = true;
    // What Node does when a stream is closed with an error code.
    process.nextTick(() => {
      this.emit('error', new Error(`stream closed with ${code}`));
      this.destroyed = true;
      this.emit('close');
    });
  }
  /** Its client resets it. */
  reset(): void {
    this.closed = true;
    process.nextTick(() => {
      this.emit('error', new Error('reset by its client'));
      this.destroyed = true;
      this.emit('close');
    });
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A session whose HTTP/2 server listener records the streams it is handed, in order. */
function session(started: string[], pacer: StreamPacer, unpaced = () => false) {
  const s = new EventEmitter() as EventEmitter & { open(name: string): FakeStream; close(): void };
  const onward = [
    function (this: unknown, stream: FakeStream) {
      expect(this).to.equal(s);
      started.push(stream.name);
    },
  ];
  pacer.pace(s as unknown as ServerHttp2Session, onward as never, unpaced);
  s.open = (name) => {
    const stream = new FakeStream(name);
    s.emit('stream', stream, { ':path': '/x' }, 0, []);
    return stream;
  };
  s.close = () => s.emit('close');
  return s;
}

describe("StreamPacer (clients' new streams, a few per turn of the event loop)", () => {
  it('starts streams at once within the turn, then the rest a turn at a time, one connection after another', async () => {
    const pacer = new StreamPacer(2, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    const b = session(started, pacer);
    for (let i = 1; i <= 5; i++) a.open(`a${i}`);
    b.open('b1');
    b.open('b2');
    expect(started.splice(0)).to.deep.equal(['a1', 'a2']);
    expect(pacer.waiting).to.equal(5);
    // Between two turns the node reads its sockets: a stream arriving then waits behind the others.
    const turns: string[][] = [];
    for (let turn = 0; turn < 4; turn++) {
      await nextTurn();
      if (turn === 0) b.open('b3');
      turns.push(started.splice(0));
    }
    expect(turns).to.deep.equal([['a3', 'b1'], ['a4', 'b2'], ['a5', 'b3'], []]);
    expect(pacer.waiting).to.equal(0);
  });

  it('a new turn has its whole budget once no stream waits', async () => {
    const pacer = new StreamPacer(2, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    a.open('a1');
    a.open('a2');
    a.open('a3');
    await nextTurn();
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a2', 'a3']);
    a.open('a4');
    a.open('a5');
    expect(started.slice(3)).to.deep.equal(['a4', 'a5']);
  });

  it("starts a peer's streams at once, even while clients' wait", async () => {
    const pacer = new StreamPacer(1, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const client = session(started, pacer);
    const peer = session(started, pacer, () => true);
    client.open('c1');
    client.open('c2');
    peer.open('p1');
    peer.open('p2');
    expect(started).to.deep.equal(['c1', 'p1', 'p2']);
    await nextTurn();
    expect(started).to.deep.equal(['c1', 'p1', 'p2', 'c2']);
  });

  it('answers a new stream RESOURCE_EXHAUSTED past maxWaiting, before it starts, and asks its client to stop sending', async () => {
    const refused: number[] = [];
    const pacer = new StreamPacer(1, 2, 1e9, () => `refused ${refused.push(1)}`);
    const started: string[] = [];
    const a = session(started, pacer);
    const streams = ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => a.open(name));
    expect(started).to.deep.equal(['a1']);
    expect(streams.map((s) => s.answered)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      '8 refused 1',
      '8 refused 2',
    ]);
    expect(streams.map((s) => s.closedWith)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      http2.NGHTTP2_NO_ERROR,
      http2.NGHTTP2_NO_ERROR,
    ]);
    expect(refused).to.have.length(2);
    await nextTurn();
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a2', 'a3']);
  });

  it("past maxWaiting, takes the newest waiting stream of the connection with the most, not another client's", async () => {
    let refusedCount = 0;
    const pacer = new StreamPacer(1, 3, 1e9, () => `refused ${++refusedCount}`);
    const started: string[] = [];
    const flood = session(started, pacer);
    const other = session(started, pacer);
    const floods = ['f1', 'f2', 'f3', 'f4'].map((name) => flood.open(name));
    const o1 = other.open('o1');
    expect(floods.map((s) => s.answered)).to.deep.equal([undefined, undefined, undefined, '8 refused 1']);
    expect(o1.answered).to.equal(undefined);
    expect([refusedCount, pacer.waiting]).to.deep.equal([1, 3]);
    // Now each has as many as the other would after it: the new stream is the one refused.
    const o2 = other.open('o2');
    const o3 = other.open('o3');
    expect([o2.answered, o3.answered]).to.deep.equal(['8 refused 2', '8 refused 3']);
    for (let turn = 0; turn < 4; turn++) await nextTurn();
    expect(started).to.deep.equal(['f1', 'f2', 'o1', 'f3']);
  });

  it('past maxWaitingBytes received by the streams waiting, refuses the newest of the connection with the most', async () => {
    const pasts: string[] = [];
    const pacer = new StreamPacer(1, 100, 100, (past) => `past ${pasts.push(past) && past}`);
    const started: string[] = [];
    const a = session(started, pacer);
    const b = session(started, pacer);
    a.open('a1');
    const [a2, a3, a4] = ['a2', 'a3', 'a4'].map((name) => a.open(name));
    const b1 = b.open('b1');
    for (const stream of [a2!, a3!, a4!]) stream.readableLength = 60;
    b1.readableLength = 10;
    // a2 starts; a3, a4 and b1 have received 130 bytes: a4 is refused.
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a2']);
    expect([a3!.answered, a4!.answered, b1.answered]).to.deep.equal([undefined, '8 past bytes', undefined]);
    expect(pacer.waiting).to.equal(2);
    // 70 bytes wait: a new stream waits too.
    const b2 = b.open('b2');
    expect(b2.answered).to.equal(undefined);
    expect(pasts).to.deep.equal(['bytes']);
  });

  it('a waiting stream its client resets leaves the count and is not started; a started one keeps only its own listeners', async () => {
    const pacer = new StreamPacer(1, 2, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    a.open('a1');
    const a2 = a.open('a2');
    a.open('a3');
    a2.reset();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(pacer.waiting).to.equal(1);
    // Its place is free: a4 waits, and nothing is refused.
    const a4 = a.open('a4');
    expect(pacer.waiting).to.equal(2);
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    expect(started).to.deep.equal(['a1', 'a3', 'a4']);
    // grpc-js has it now: its errors and its end are grpc-js's to hear.
    expect([a4.listenerCount('error'), a4.listenerCount('close')]).to.deep.equal([0, 0]);
  });

  it('drops the streams its clients reset from the queue once they outnumber those waiting', async () => {
    const pacer = new StreamPacer(1, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    a.open('a1');
    const streams = Array.from({ length: 40 }, (_, i) => a.open(`a${i + 2}`));
    for (const stream of streams.slice(0, 39)) stream.reset();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(pacer.waiting).to.equal(1);
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a41']);
    expect(pacer.waiting).to.equal(0);
  });

  it('skips a waiting stream reset before its close event came', async () => {
    const pacer = new StreamPacer(1, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    a.open('a1');
    const a2 = a.open('a2');
    a.open('a3');
    a2.destroyed = true;
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a3']);
    expect(pacer.waiting).to.equal(0);
  });

  it('drain() resets the streams waiting with REFUSED_STREAM, and starts new ones at once', async () => {
    const pacer = new StreamPacer(1, 100, 1e9, () => expect.fail('a drain refuses no limit'));
    const started: string[] = [];
    const a = session(started, pacer);
    a.open('a1');
    const waiting = [a.open('a2'), a.open('a3')];
    pacer.drain();
    expect(waiting.map((s) => s.closedWith)).to.deep.equal([
      http2.NGHTTP2_REFUSED_STREAM,
      http2.NGHTTP2_REFUSED_STREAM,
    ]);
    expect(pacer.waiting).to.equal(0);
    a.open('a4');
    a.open('a5');
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'a4', 'a5']);
  });

  it("forgets a closed connection's waiting streams", async () => {
    const pacer = new StreamPacer(1, 100, 1e9, () => expect.fail('nothing is refused'));
    const started: string[] = [];
    const a = session(started, pacer);
    const b = session(started, pacer);
    a.open('a1');
    a.open('a2');
    a.open('a3');
    b.open('b1');
    expect(pacer.waiting).to.equal(3);
    a.close();
    expect(pacer.waiting).to.equal(1);
    await nextTurn();
    await nextTurn();
    expect(started).to.deep.equal(['a1', 'b1']);
  });
});
