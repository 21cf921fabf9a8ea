import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Duplex } from 'node:stream';
import type { Operation, Outcome } from '../../../src/cluster/replication/operation';
import { packFrame, unpackFrame } from '../../../src/proto/packed';
import type { OperationExecutor } from '../../../src/server/operation-executor';
import { PipelineStreams } from '../../../src/server/pipeline';

const MiB = 1024 * 1024;

/** A PipelinePacked server stream as grpc-js hands it over: frames pushed in, replies kept. */
function fakeStream() {
  const replies: unknown[][] = [];
  const stream = new Duplex({
    objectMode: true,
    read() {},
    write(chunk: Buffer, _encoding, done) {
      replies.push(unpackFrame(chunk));
      done();
    },
  });
  const call = Object.assign(stream, { metadata: new grpc.Metadata(), cancelled: false });
  return { call: call as unknown as grpc.ServerDuplexStream<unknown, unknown>, stream, replies };
}

/** Deletes answered only when `answerAll()` is called: their frames stay in flight until then. */
function waitingExecutor() {
  const waiting: (() => void)[] = [];
  const executor: OperationExecutor = {
    execute: (_op: Operation): Promise<Outcome> =>
      new Promise((resolve) =>
        waiting.push(() => resolve({ kind: 'delete', deleted: false, version: undefined })),
      ),
  };
  return {
    executor,
    answerAll: () => {
      for (const answer of waiting.splice(0)) answer();
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

/** PipelineStreams over `executor`, max_client_input_bytes 8 MiB and max_batch_keys 4096 unless told. */
function pipelines(
  executor: OperationExecutor,
  limits: { maxBatchKeys?: number; maxClientInputBytes?: number } = {},
) {
  return new PipelineStreams({
    executor,
    epoch: () => 1,
    logger: pino({ level: 'silent' }),
    defaultTimeoutMs: 60_000,
    limits: {
      maxBatchKeys: limits.maxBatchKeys ?? 4096,
      maxReplyBytes: 32 * MiB,
      maxRequestBytes: 64 * MiB,
      idleTimeoutMs: 300_000,
      maxClientCalls: 8192,
      maxFramesInFlight: 16,
      maxOutputBufferBytes: 256 * 1024,
      maxClientOutputBytes: 32 * MiB,
      maxClientInputBytes: limits.maxClientInputBytes ?? 8 * MiB,
      maxValueBytes: 1 * MiB,
    },
  });
}

/** A packed frame of `count` deletes of absent keys of about 1 KB each, distinct per frame. */
function deletes(frame: number, count = 2000): Buffer {
  const pad = 'd'.repeat(990);
  return packFrame(
    frame,
    60_000,
    Array.from({ length: count }, (_, i) => [2, `${pad}${frame}/${i}`, 0]),
  );
}

describe("PipelineStreams: what a stream's frames in flight hold", () => {
  // 40,000 deletes of absent 1 KB keys sent at once in frames of 2,000 (2 MB each, about 12 MB held
  // while they run): read as their bytes found room in a budget of 8 MiB, four ran at a time, the
  // node's RSS grew by 69-82 MB and another client's calls waited up to 2.3 s.
  it('reads no more of a stream whose frames in flight hold an eighth of the budget, other streams still read', async () => {
    const { executor, answerAll } = waitingExecutor();
    const p = pipelines(executor);
    const heavy = fakeStream();
    const other = fakeStream();
    p.servePacked(heavy.call);
    p.servePacked(other.call);
    for (let f = 1; f <= 3; f++) heavy.stream.push(deletes(f));
    other.stream.push(packFrame(1, 60_000, [[2, 'k', 0]]));
    await turn();
    expect(p.frames, "frames read: one of the heavy stream, and the other stream's").to.equal(2);
    expect(p.input.heldBytes, "bytes held: the frames' bytes only").to.be.below(2.1 * MiB);
    // Answered, the heavy stream's next frame is read, one at a time; none is refused.
    for (let read = 3; read <= 4; read++) {
      answerAll();
      await turn();
      await turn();
      expect(p.frames, 'frames read').to.equal(read);
    }
    answerAll();
    await turn();
    await turn();
    expect(heavy.replies.map((r) => (r.slice(2) as unknown[][]).length)).to.deep.equal([2000, 2000, 2000]);
    expect(other.replies).to.have.length(1);
    expect(p.input.heldBytes).to.equal(0);
  });
  // The memory guard's sign of a flood: what a frame holds past its stream's eighth (1 MiB here).
  it("counts what a frame holds past its stream's share in excessOverheadBytes while it runs, and none for frames of the SDK's size", async () => {
    const { executor, answerAll } = waitingExecutor();
    const p = pipelines(executor);
    // Fourteen clients' streams, each with a frame of 256 small writes in flight (about 0.5 MB held).
    const sdkFrame = (frame: number) =>
      packFrame(
        frame,
        60_000,
        Array.from({ length: 256 }, (_, i) => [2, `k${frame}/${i}`, 0]),
      );
    const streams = Array.from({ length: 14 }, () => fakeStream());
    streams.forEach((s, i) => {
      p.servePacked(s.call);
      s.stream.push(sdkFrame(i + 1));
    });
    await turn();
    expect(p.frames).to.equal(14);
    expect(p.excessOverheadBytes, 'frames of the SDK size').to.equal(0);
    // 2,000 deletes of 1 KB keys: about 10 MB held by estimate.
    const heavy = fakeStream();
    p.servePacked(heavy.call);
    heavy.stream.push(deletes(1));
    await turn();
    expect(p.excessOverheadBytes / MiB, 'a frame past its share').to.be.within(8, 10);
    answerAll();
    await turn();
    await turn();
    expect(p.excessOverheadBytes).to.equal(0);
  });
});

describe('PipelineStreams: the bytes of frames refused whole, for the memory guard', () => {
  // Each such frame was read whole before it could be refused, and no budget counted it: 8 frames
  // of a million gets at a time, refused past max_batch_keys, were no flood to the memory guard,
  // which took their memory for the node's own and evicted keys written before them.
  it('counts a frame past max_batch_keys in refusedBytes by its length', async () => {
    const p = pipelines(waitingExecutor().executor, { maxBatchKeys: 256 });
    const s = fakeStream();
    p.servePacked(s.call);
    const frame = packFrame(
      1,
      60_000,
      Array.from({ length: 1000 }, (_, i) => [0, `key/${i}`]),
    );
    s.stream.push(frame);
    await turn();
    expect(s.replies, 'one refusal for the frame').to.have.length(1);
    expect(p.refusals.count('max_batch_keys')).to.equal(1);
    expect(p.refusals.refusedBytes).to.equal(frame.length);
  });

  it('counts a frame refused past max_client_input_bytes in refusedBytes by its length', async () => {
    const { executor, answerAll } = waitingExecutor();
    const p = pipelines(executor, { maxBatchKeys: 256, maxClientInputBytes: 64 * 1024 });
    const holder = fakeStream();
    const other = fakeStream();
    p.servePacked(holder.call);
    p.servePacked(other.call);
    const frame = (id: number) => deletes(id, 100);
    // The first stream's frame holds the budget (its deletes wait); the other stream's, larger than
    // the small requests' reserve, finds no room and is refused whole.
    holder.stream.push(frame(1));
    await turn();
    const refused = frame(2);
    other.stream.push(refused);
    await turn();
    expect(other.replies, 'one refusal for the frame').to.have.length(1);
    expect(p.refusals.count('max_client_input_bytes')).to.equal(1);
    expect(p.refusals.refusedBytes).to.equal(refused.length);
    answerAll();
    await turn();
    expect(holder.replies, "the first stream's frame answered").to.have.length(1);
    expect(p.input.heldBytes, 'nothing held once answered').to.equal(0);
  });
});
