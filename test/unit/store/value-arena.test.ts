import { expect } from 'chai';
import { cellBytesOf, LARGE_VALUE_BYTES, sizeClassOf, ValueArena } from '../../../src/store/value-arena';

describe('value arena size classes', () => {
  it('rounds small values up to 8 bytes and larger ones to at most 12.5% slack', () => {
    const bad: number[] = [];
    for (let len = 1; len <= LARGE_VALUE_BYTES; len++) {
      const cell = cellBytesOf(sizeClassOf(len));
      if (cell % 8 !== 0 || cell < len || cell - len > Math.max(7, len / 8)) bad.push(len);
    }
    expect(bad).to.deep.equal([]);
  });

  it('gives a 100-byte value a 104-byte cell', () => {
    expect(cellBytesOf(sizeClassOf(100))).to.equal(104);
  });
});

describe('ValueArena', () => {
  it('returns copies that stay intact after the cell is freed and reused', () => {
    const arena = new ValueArena();
    const a = arena.alloc(5);
    arena.write(a, Buffer.from('hello'));
    const copy = arena.read(a, 5);
    arena.free(a, 5);
    const b = arena.alloc(5);
    expect(b).to.equal(a); // the freed cell is reused first
    arena.write(b, Buffer.from('world'));
    expect(copy.toString()).to.equal('hello');
    expect(arena.read(b, 5).toString()).to.equal('world');
  });

  it('keeps values of many sizes apart', () => {
    const arena = new ValueArena();
    const held: [number, Buffer][] = [];
    for (let len = 1; len < 3000; len += 7) {
      const value = Buffer.alloc(len, len % 251);
      const addr = arena.alloc(len);
      arena.write(addr, value);
      held.push([addr, value]);
    }
    for (const [addr, value] of held) expect(arena.read(addr, value.length).equals(value)).to.equal(true);
  });

  it('gives large values a chunk of their own, in 64 KiB steps', () => {
    const arena = new ValueArena();
    const len = LARGE_VALUE_BYTES + 1;
    const addr = arena.alloc(len);
    arena.write(addr, Buffer.alloc(len, 9));
    expect(arena.reservedBytes).to.equal(2 * LARGE_VALUE_BYTES);
    expect(arena.read(addr, len).every((b) => b === 9)).to.equal(true);
  });

  it('keeps a freed large chunk for the next value of its size instead of allocating (issue 12 §6)', () => {
    const arena = new ValueArena();
    const len = 1024 * 1024;
    const first = arena.alloc(len);
    arena.free(first, len);
    expect(arena.reservedBytes, 'kept as a spare').to.equal(len);
    const second = arena.alloc(len - 100); // rounds to the same 1 MiB
    arena.write(second, Buffer.alloc(len - 100, 3));
    expect(arena.reservedBytes, 'the spare reused').to.equal(len);
    expect(arena.read(second, len - 100).every((b) => b === 3)).to.equal(true);
  });

  it('releases freed large chunks beyond 8 MiB of spares', () => {
    const arena = new ValueArena();
    const len = 1024 * 1024;
    const addrs = Array.from({ length: 12 }, () => arena.alloc(len));
    expect(arena.reservedBytes).to.equal(12 * len);
    for (const a of addrs) arena.free(a, len);
    expect(arena.reservedBytes).to.equal(8 * len);
  });

  it('needs no storage for empty values', () => {
    const arena = new ValueArena();
    const addr = arena.alloc(0);
    expect(arena.read(addr, 0).length).to.equal(0);
    expect(arena.reservedBytes).to.equal(0);
  });

  it('compacts: values moved out of emptied chunks read back unchanged, and the chunks are released', () => {
    const arena = new ValueArena();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const held = new Map<number, Buffer>(); // owner's view: address -> value
    const put = (n: number) => {
      const len = 1 + Math.floor(random() * 3000);
      const value = Buffer.alloc(len, n % 251);
      const addr = arena.alloc(len);
      expect(held.has(addr), 'an address handed out twice').to.equal(false);
      arena.write(addr, value);
      held.set(addr, value);
    };
    for (let n = 0; n < 20_000; n++) put(n);
    const peak = arena.reservedBytes;
    for (const [addr, value] of held) {
      if (random() < 0.8) {
        arena.free(addr, value.length);
        held.delete(addr);
      }
    }
    let released = 0;
    for (let pass = 0; pass < 20; pass++) {
      if (arena.planCompaction(4 * 1024 * 1024) === 0) break;
      for (const [addr, value] of [...held]) {
        if (!arena.isMoving(addr)) continue;
        held.delete(addr);
        const to = arena.relocate(addr, value.length);
        expect(held.has(to), 'relocated onto a held value').to.equal(false);
        held.set(to, value);
      }
      released += arena.finishCompaction();
    }
    expect(released).to.be.above(0);
    expect(arena.reservedBytes)
      .to.equal(peak - released)
      .and.below(peak * 0.5);
    for (const [addr, value] of held) expect(arena.read(addr, value.length).equals(value)).to.equal(true);
    for (let n = 0; n < 5000; n++) put(n); // freed cells and ids are reused without a clash
    for (const [addr, value] of held) expect(arena.read(addr, value.length).equals(value)).to.equal(true);
  });
});
