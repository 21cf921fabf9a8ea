import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MemoryGuard } from '../../../src/server/memory-guard';
import { ResidentMemory } from '../../../src/server/resident-memory';
import { ManualTime } from '../../support/manual-time';

const MiB = 1024 * 1024;
/** RSS moves a little between two reads (this test's own allocations); a wrong page size is 4x off. */
const SLACK = 8 * MiB;

const openFiles = (): number => readdirSync('/proc/self/fd').length;

/** Reads `read` between two reads of process.memoryUsage.rss(), and checks it lies within them. */
function expectRss(read: () => number): void {
  const before = process.memoryUsage.rss();
  const value = read();
  const after = process.memoryUsage.rss();
  expect(value).to.be.within(Math.min(before, after) - SLACK, Math.max(before, after) + SLACK);
}

describe('ResidentMemory: the RSS from /proc/self/statm', () => {
  it('reads what process.memoryUsage.rss() reads, as the process grows', () => {
    const rss = new ResidentMemory();
    try {
      expectRss(() => rss.bytes());
      const held = Array.from({ length: 16 }, () => Buffer.alloc(4 * MiB, 1));
      expectRss(() => rss.bytes());
      expect(held).to.have.length(16);
    } finally {
      rss.close();
    }
  });

  it('keeps one file open until close(), then reads rss() instead', () => {
    const before = openFiles();
    const rss = new ResidentMemory();
    expect(openFiles()).to.equal(before + 1);
    rss.close();
    expect(openFiles()).to.equal(before);
    expectRss(() => rss.bytes());
    rss.close();
  });

  it('falls back to rss() where statm is missing or unreadable, holding no file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-statm-'));
    try {
      const garbled = path.join(dir, 'statm');
      writeFileSync(garbled, 'not statm\n');
      const before = openFiles();
      for (const file of [path.join(dir, 'missing'), garbled]) {
        const rss = new ResidentMemory(file);
        expect(openFiles()).to.equal(before);
        expectRss(() => rss.bytes());
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is what the memory guard reads by default, open from start() to stop()', () => {
    const time = new ManualTime();
    const guard = new MemoryGuard({
      targetBytes: 1024 * MiB,
      maxMemoryBytes: 64 * MiB,
      storeFootprintBytes: () => 0,
      setPressure: () => undefined,
      logger: pino({ level: 'silent' }),
      scheduler: time,
      collect: () => undefined,
      readV8: () => ({ heapTotal: 0, heapUsed: 0, external: 0 }),
    });
    const before = openFiles();
    guard.start();
    expect(openFiles()).to.equal(before + 1);
    // With V8 reading as empty, the native part is the whole RSS, read through statm.
    expectRss(() => guard.nativeBytes);
    guard.stop();
    expect(openFiles()).to.equal(before);
  });
});
