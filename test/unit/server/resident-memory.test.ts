import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MemoryGuard } from '../../../src/server/memory-guard';
import { ResidentMemory } from '../../../src/server/resident-memory';
import { ManualTime } from '../../support/manual-time';
import { skipBecause } from '../../support/skip-reasons';

const MiB = 1024 * 1024;
/** RSS moves a little between two reads (this test's own allocations); a wrong page size is 4x off. */
const SLACK = 8 * MiB;

/** How many of this process's open files are `file` (others, of other tests, come and go meanwhile). */
const openCount = (file: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed since the listing
    }
  }).length;
const openStatm = (): number => openCount(`/proc/${process.pid}/statm`);

/** Reads `read` between two reads of process.memoryUsage.rss(), and checks it lies within them. */
function expectRss(read: () => number): void {
  const before = process.memoryUsage.rss();
  const value = read();
  const after = process.memoryUsage.rss();
  expect(value).to.be.within(Math.min(before, after) - SLACK, Math.max(before, after) + SLACK);
}

describe('ResidentMemory: the RSS from /proc/self/statm', function () {
  before(function () {
    // Not Linux: each read is rss(), nothing to check.
    if (!existsSync('/proc/self/statm')) skipBecause(this, 'no /proc/self/statm (not Linux)');
  });

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
    const before = openStatm();
    const rss = new ResidentMemory();
    try {
      expect(openStatm()).to.equal(before + 1);
    } finally {
      rss.close();
    }
    expect(openStatm()).to.equal(before);
    expectRss(() => rss.bytes());
    rss.close();
  });

  it('falls back to rss() where statm is missing or unreadable, holding no file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-statm-'));
    try {
      const garbled = path.join(dir, 'statm');
      writeFileSync(garbled, 'not statm\n');
      for (const file of [path.join(dir, 'missing'), garbled]) {
        const rss = new ResidentMemory(file);
        expect(openCount(file)).to.equal(0);
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
    const before = openStatm();
    guard.start();
    try {
      expect(openStatm()).to.equal(before + 1);
      // With V8 reading as empty, the native part is the whole RSS, read through statm.
      expectRss(() => guard.nativeBytes);
    } finally {
      guard.stop();
    }
    expect(openStatm()).to.equal(before);
  });
});
