import { expect } from 'chai';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  ephemeralPortRange,
  freePorts,
  nonEphemeralRanges,
  reservePorts,
  type ReserveOptions,
} from '../../support/ports';

const PORTS_JS = path.resolve(__dirname, '../../support/ports.js');

/**
 * A node process that loads ports.js, says "ready", and on "go" asks for `count` ports (with `opts`)
 * and prints them; it keeps them (and its pid) until its stdin closes.
 */
type Child = ChildProcessByStdio<Writable, Readable, null>;
function portsChild(count: number, opts: ReserveOptions): Child {
  const script = `
    const { reservePorts } = require(${JSON.stringify(PORTS_JS)});
    process.stdin.once('data', async () => {
      const ports = await reservePorts(${count}, ${JSON.stringify(opts)});
      process.stdout.write(JSON.stringify(ports) + '\\n');
    });
    process.stdin.once('end', () => process.exit(0));
    process.stdout.write('ready\\n');`;
  return spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Reads a child's stdout line by line across calls. */
function lineReader(child: Child): () => Promise<string> {
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async () => {
    const line: IteratorResult<string> = await lines.next();
    if (line.done) throw new Error('child exited before printing a line');
    return line.value;
  };
}

/** This process and two children ask for `count` ports each at one moment; the three answers. */
async function askTogether(count: number, opts: ReserveOptions): Promise<number[][]> {
  const children = [portsChild(count, opts), portsChild(count, opts)];
  const exited = children.map((c) => once(c, 'exit'));
  try {
    const readers = children.map(lineReader);
    expect(await Promise.all(readers.map((next) => next()))).to.deep.equal(['ready', 'ready']);
    const theirs = readers.map((next) => next());
    for (const c of children) c.stdin.write('go\n');
    const mine = await reservePorts(count, opts);
    return [mine, ...(await Promise.all(theirs)).map((line) => JSON.parse(line) as number[])];
  } finally {
    for (const c of children) c.stdin.end();
    await Promise.all(exited);
  }
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('freePorts', function () {
  this.timeout(20_000);

  it('never gives the same port to processes asking at the same moment', async () => {
    const all = await askTogether(200, {});
    expect(all.map((ports) => ports.length)).to.deep.equal([200, 200, 200]);
    expect(new Set(all.flat()).size, 'distinct ports of 600').to.equal(600);
  });

  it('never gives the same port to processes that all want most of one small range', async () => {
    const [first, last] = nonEphemeralRanges()[0]!;
    const low = first + Math.floor(Math.random() * (last - first - 299)); // 300 ports of the range
    const lockDir = mkdtempSync(path.join(os.tmpdir(), 'ports-test-'));
    try {
      // 3 x 90 of 300 ports: the three walk over each other's locks, whatever their starting places.
      const all = await askTogether(90, { lockDir, ranges: [[low, low + 299]] });
      expect(new Set(all.flat()).size, 'distinct ports of 270').to.equal(270);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  });

  it('gives ports outside the kernel’s ephemeral range, from 20000 up', async () => {
    const [low, high] = ephemeralPortRange();
    for (const port of await freePorts(50)) {
      expect(port).to.be.at.least(20_000);
      expect(port < low || port > high, `${port} outside ${low}-${high}`).to.equal(true);
    }
  });
});

describe('reservePorts with its own lock directory', () => {
  let lockDir: string;
  beforeEach(() => {
    lockDir = mkdtempSync(path.join(os.tmpdir(), 'ports-test-'));
  });
  afterEach(() => rmSync(lockDir, { recursive: true, force: true }));

  it('takes over the lock of a process that died holding it', async () => {
    const [port] = await freePorts(1);
    writeFileSync(path.join(lockDir, `${port}.lock`), `${await deadPid()}\n`);
    expect(await reservePorts(1, { lockDir, ranges: [[port!, port!]] })).to.deep.equal([port]);
    expect(readFileSync(path.join(lockDir, `${port}.lock`), 'utf8')).to.equal(`${process.pid}\n`);
  });

  it('first sweeps away every lock of a dead process, wherever it is', async () => {
    const [port] = await freePorts(1);
    const dead = await deadPid();
    for (const stale of [1, 2, 3]) writeFileSync(path.join(lockDir, `${stale}.lock`), `${dead}\n`);
    writeFileSync(path.join(lockDir, '4.lock'), `${process.ppid}\n`);
    writeFileSync(path.join(lockDir, `1.lock.${dead}.reclaim`), `${dead}\n`);
    await reservePorts(1, { lockDir, ranges: [[port!, port!]] });
    expect(readdirSync(lockDir).sort()).to.deep.equal(['4.lock', `${port}.lock`].sort());
  });

  it('leaves alone the lock of a live process', async () => {
    const [port] = await freePorts(1);
    const alive = spawn(process.execPath, ['-e', 'process.stdin.resume()'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    try {
      writeFileSync(path.join(lockDir, `${port}.lock`), `${alive.pid}\n`);
      const err = await reservePorts(1, { lockDir, ranges: [[port!, port!]] }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/only 0 of 1 ports free/);
    } finally {
      alive.stdin.end();
      await once(alive, 'exit');
    }
  });

  it('passes over a port something already listens on', async () => {
    const [taken, free] = await freePorts(2);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    try {
      const ranges: [number, number][] = [
        [taken!, taken!],
        [free!, free!],
      ];
      expect(await reservePorts(1, { lockDir, ranges })).to.deep.equal([free]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
