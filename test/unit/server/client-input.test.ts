import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { packFrame } from '../../../src/proto/packed';
import { ClientInputBudget, ReadGate } from '../../../src/server/client-input';
import { packedFormat } from '../../../src/server/frame-formats';
import type { OperationExecutor } from '../../../src/server/operation-executor';

const MiB = 1024 * 1024;

describe("ClientInputBudget: what a node holds of its clients' requests", () => {
  it('takes requests while they fit, refuses the one past the budget naming it, and gives back what each held', () => {
    const input = new ClientInputBudget(8 * MiB);
    expect(input.tryTake(6 * MiB)).to.equal(6 * MiB);
    expect(input.tryTake(2 * MiB)).to.equal(2 * MiB);
    expect(input.full).to.equal(true);
    expect(input.tryTake(1 * MiB), 'past the budget, and too large for the reserve').to.equal(undefined);
    expect(input.heldBytes, 'nothing counted for a refused request').to.equal(8 * MiB);
    expect(input.refusal('Set')).to.deep.include({ limit: 'max_client_input_bytes', code: 8 });
    expect(input.refusal('Set').message).to.equal(
      `Set refused: this node holds ${8 * MiB} bytes of requests from its clients; ` +
        `limits.max_client_input_bytes is ${8 * MiB}. Try again shortly, or send less at once`,
    );
    input.release(6 * MiB);
    input.release(2 * MiB);
    expect(input.heldBytes).to.equal(0);
  });

  it('takes one request larger than the budget when it holds nothing else', () => {
    const input = new ClientInputBudget(8 * MiB);
    expect(input.tryTake(20 * MiB)).to.equal(20 * MiB);
    expect(input.tryTake(1 * MiB)).to.equal(undefined);
    input.release(20 * MiB);
    expect(input.tryTake(1 * MiB)).to.equal(1 * MiB);
  });

  it('keeps an eighth more for small requests while large ones hold the budget', () => {
    const input = new ClientInputBudget(64 * MiB);
    expect(input.tryTake(64 * MiB)).to.equal(64 * MiB);
    // Small: at most a sixty-fourth (1 MiB) each, in a reserve of an eighth (8 MiB).
    const small = Array.from({ length: 8 }, () => input.tryTake(MiB));
    expect(small).to.deep.equal(new Array(8).fill(-MiB));
    expect(input.heldBytes).to.equal(72 * MiB);
    expect(input.tryTake(1), 'the reserve is full too').to.equal(undefined);
    input.release(small[0]!);
    expect(input.tryTake(MiB + 1), 'too large for the reserve').to.equal(undefined);
    expect(input.tryTake(MiB)).to.equal(-MiB);
    expect(input.bytes, 'the reserve is not the budget').to.equal(64 * MiB);
  });

  // 40,000 deletes of absent 1 KB keys sent at once in frames of 2,000, counted at their bytes alone
  // (2 MB a frame): a node of max_memory 64 MiB read four frames at a time, held about five times
  // what it counted, its RSS grew by 69-82 MB and another client's calls waited up to 2.3 s.
  it("counts what a frame's operations hold beyond its bytes: decoded keys, and each write's round and copies", () => {
    const format = packedFormat({} as OperationExecutor, undefined);
    const countOf = (ops: unknown[][]) => {
      const payload = packFrame(1, 60_000, ops);
      const decoded = format.decode(payload, 4096);
      return { bytes: format.requestBytes(payload), overhead: format.overheadBytes(decoded) };
    };
    const pad = 'd'.repeat(990);
    const deletes = countOf(Array.from({ length: 2000 }, (_, i) => [2, `${pad}${i}`, 0]));
    expect(deletes.bytes, 'deletes of 1 KB keys: their bytes').to.be.within(1_990_000, 2_010_000);
    expect(deletes.overhead / deletes.bytes, 'held beyond them, per byte').to.be.within(4, 6);
    // Reads hold their decoded key and a little state: an SDK frame of 256 gets, about 35 KB.
    const gets = countOf(Array.from({ length: 256 }, (_, i) => [0, `user:${i}`, 0]));
    expect(gets.overhead, 'gets').to.be.within(30_000, 40_000);
    // Hostile operations count no less than nothing, and never throw.
    expect(countOf([[null, { key: 1 }], ['x'], [0, 42]]).overhead).to.be.at.least(0);
  });

  it('tells each stream waiting for room once the node is below its budget, once', () => {
    const input = new ClientInputBudget(4 * MiB);
    const held = input.tryTake(4 * MiB)!;
    let told = 0;
    let forgotten = 0;
    const waiting = () => told++;
    const gone = () => forgotten++;
    input.whenRoom(waiting);
    input.whenRoom(waiting); // asked twice: told once
    input.whenRoom(gone);
    input.forget(gone);
    input.release(held);
    expect([told, forgotten]).to.deep.equal([1, 0]);
    input.release(0);
    expect(told, 'not again').to.equal(1);
  });
});

describe('ReadGate', () => {
  it('stops a stream asking for more messages while held, and asks once released', () => {
    const stream = new PassThrough({ objectMode: true });
    let reads = 0;
    const read = stream._read.bind(stream);
    stream._read = (size: number) => {
      reads++;
      read(size);
    };
    const gate = new ReadGate(stream);
    gate.hold();
    stream._read(16);
    stream._read(16);
    expect(reads, 'held').to.equal(0);
    gate.release();
    expect(reads, 'the wanted read, once').to.equal(1);
    gate.release();
    expect(reads, 'nothing more was wanted').to.equal(1);
    stream._read(16);
    expect(reads, 'reads go through once released').to.equal(2);
  });
});
