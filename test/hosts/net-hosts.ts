import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { reservePorts } from '../support/ports';

const run = promisify(execFile);

/** Where the third octets of the suites' /24s are locked (ports.ts), across processes. */
export const SUBNET_LOCKS = path.join(os.tmpdir(), 'ringcache-test-subnets');

/** libfaketime, from Debian's `faketime` package (`.ci/run` installs it): per-process clock skew. */
export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/**
 * Hosts for a test, on one machine (issue 13 §1): each host is a network namespace with an address
 * of its own on a bridge (inside a switch namespace of its own too), and the test process reaches
 * every host through one more veth on that bridge. Nothing of the machine's own network changes but
 * that one interface, which teardown() removes with the namespaces.
 *
 * Faults are the kernel's, not the program's:
 * - cut(from, to): a blackhole route on `from` for `to`'s address, so packets from one to the other
 *   vanish (one way; TCP connections stay open and retransmit, as in a real partition);
 * - partition(groups): cuts both ways between every pair of hosts in different groups;
 * - heal(): every cut removed.
 * Link delay and loss need `tc netem`, which this kernel lacks (probe() says so); clock skew is
 * libfaketime in a node's environment (skewEnv), kill and pause are signals to its process.
 */
export class NetHosts {
  readonly count: number;
  readonly #tag: string;
  /** 10.213.X: X reserved by setup() across processes, so two suites' hosts never share a /24. */
  #subnet = '';
  readonly #cuts = new Set<string>();
  #up = false;

  constructor(count: number) {
    this.count = count;
    const n = process.pid % 10_000;
    this.#tag = `rc${n}`;
  }

  /** Why hosts cannot be made here (not root, no `ip`, namespaces refused), or undefined when they can. */
  static async probe(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    const name = `rcprobe${process.pid % 10_000}`;
    try {
      await run('ip', ['netns', 'add', name]);
      await run('ip', ['netns', 'del', name]);
      return undefined;
    } catch (err) {
      return `ip netns is refused here: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  /** Whether libfaketime is installed (the skew test skips without it). */
  static hasFaketime(): boolean {
    return existsSync(FAKETIME_LIB);
  }

  /** The address of host `i` (1-based); known once setup() has begun. */
  address(i: number): string {
    if (!this.#subnet) throw new Error('NetHosts: address() before setup()');
    return `${this.#subnet}.${i}`;
  }

  /** The command prefix that runs a program on host `i` (`ip netns exec` execs it: the pid stays the program's). */
  prefix(i: number): string[] {
    return ['ip', 'netns', 'exec', this.#host(i)];
  }

  async setup(): Promise<void> {
    if (!this.#subnet) {
      // A lock file per third octet (ports.ts), held until this process exits: two suites running
      // at once (their pids alike modulo anything) would otherwise route one /24 twice.
      const [octet] = await reservePorts(1, {
        lockDir: SUBNET_LOCKS,
        ranges: [[20, 219]],
        usable: subnetUnrouted,
      });
      this.#subnet = `10.213.${octet}`;
    }
    await this.teardown(); // what a killed earlier run of this pid left
    this.#up = true;
    const sw = `${this.#tag}-sw`;
    await ip('netns', 'add', sw);
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    for (let i = 1; i <= this.count; i++) {
      const host = this.#host(i);
      await ip('netns', 'add', host);
      await ip('link', 'add', 'eth0', 'netns', host, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', sw);
      await ip('-n', host, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0');
      await ip('-n', host, 'link', 'set', 'eth0', 'up');
      await ip('-n', host, 'link', 'set', 'lo', 'up');
      await ip('-n', sw, 'link', 'set', `p${i}`, 'master', 'br0');
      await ip('-n', sw, 'link', 'set', `p${i}`, 'up');
    }
    const root = `${this.#tag}r`;
    await ip('link', 'add', root, 'type', 'veth', 'peer', 'name', 'pr', 'netns', sw);
    await ip('addr', 'add', `${this.#subnet}.254/24`, 'dev', root);
    await ip('link', 'set', root, 'up');
    await ip('-n', sw, 'link', 'set', 'pr', 'master', 'br0');
    await ip('-n', sw, 'link', 'set', 'pr', 'up');
  }

  /** Packets from host `from` to host `to` are dropped (one way). */
  async cut(from: number, to: number): Promise<void> {
    const key = `${from}>${to}`;
    if (this.#cuts.has(key)) return;
    await ip('-n', this.#host(from), 'route', 'add', 'blackhole', `${this.address(to)}/32`);
    this.#cuts.add(key);
  }

  /** Hosts in different groups cannot reach each other, either way. */
  async partition(groups: number[][]): Promise<void> {
    for (const a of groups)
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) await this.cut(from, to);
      }
  }

  async heal(): Promise<void> {
    for (const key of this.#cuts) {
      const [from, to] = key.split('>').map(Number) as [number, number];
      await ip('-n', this.#host(from), 'route', 'del', 'blackhole', `${this.address(to)}/32`);
    }
    this.#cuts.clear();
  }

  /** Removes every namespace and the test's own veth (idempotent; deleting a namespace deletes its veths). */
  async teardown(): Promise<void> {
    const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
    const mine = stdout
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(`${this.#tag}-`));
    for (const ns of mine) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['link', 'del', `${this.#tag}r`]).catch(() => undefined);
    this.#cuts.clear();
    this.#up = false;
  }

  get isUp(): boolean {
    return this.#up;
  }

  #host(i: number): string {
    return `${this.#tag}-h${i}`;
  }
}

/** Environment that runs a process `ms` ahead (negative: behind) of the real clock, timers unskewed. */
export function skewEnv(ms: number): Record<string, string> {
  return {
    LD_PRELOAD: FAKETIME_LIB,
    FAKETIME: `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(3)}`,
    // Monotonic clocks stay real, so timers and deadlines behave; only wall time is skewed.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    FAKETIME_NO_CACHE: '1',
  };
}

/**
 * Whether no route of this machine's own namespace reaches 10.213.`octet`.0/24 yet. A run killed
 * before its teardown leaves its namespaces and its veth behind, with their route, and no lock: a
 * suite that took the same /24 then sent its packets into the leftovers (connections to its own
 * hosts refused for the whole test).
 */
export async function subnetUnrouted(octet: number): Promise<boolean> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', `10.213.${octet}.0/24`]);
  return stdout.trim() === '';
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    throw new Error(
      `ip ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`,
    );
  }
}
