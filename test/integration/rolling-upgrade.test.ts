import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { LocalCluster, type NodeExit } from '../../src/cli/local-cluster';
import { RingCache } from '../../src/index';
import { testConfig, until } from '../support/cluster';
import { skipBecause } from '../support/skip-reasons';

const run = promisify(execFile);

/**
 * The previous release: the last commit before wire versions were stated (its nodes and SDK send no
 * version header, which this release reads as wire version 1). There are no release tags yet; when
 * there are, this becomes the last one.
 */
const PREVIOUS = '1f94ef18501efea57b9f19f1cc451a5e77f30dc4';
const REPO = resolve(__dirname, '../../..');
/** Built once per machine and kept: the build takes a minute, the test itself much less. */
const WORKTREE = join(tmpdir(), `ringcache-release-${PREVIOUS.slice(0, 12)}`);
const NODES = ['n1', 'n2', 'n3'];
const TOKEN = 'rolling-upgrade-secret';
/**
 * Calls each SDK makes after each step (more run while a node stops and starts): enough for each
 * worker to meet the new node, few enough for a busy machine.
 */
const OPS_PER_STEP = 40;

/** The previous release's SDK, typed as this one's: the calls used here are the same in both. */
type Sdk = { RingCache: typeof RingCache };
type Cluster = typeof import('../../src/cli/local-cluster');

/**
 * Runs `fn` holding a lock file: two runs of this suite at once (a soak beside CI, say) would
 * otherwise add the same worktree, or relink its node_modules, under each other. A lock left by a
 * run that died is taken over after ten minutes.
 */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(file, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) rmSync(file, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** The previous release built in a worktree of its own; a reason when that cannot be done. */
function buildPrevious(): Promise<string | undefined> {
  return withLock(`${WORKTREE}.lock`, buildPreviousLocked);
}

async function buildPreviousLocked(): Promise<string | undefined> {
  const built = join(WORKTREE, 'dist/src/cli/local-cluster.js');
  // Its node_modules is a link to the packages of the clone that built it, which may be gone (a CI
  // clone removed after its run): link it again to this clone's then.
  const modules = join(WORKTREE, 'node_modules');
  if (existsSync(WORKTREE) && !existsSync(join(modules, '@grpc/grpc-js'))) {
    rmSync(modules, { force: true });
    symlinkSync(join(REPO, 'node_modules'), modules);
  }
  if (existsSync(built)) return undefined;
  try {
    await run('git', ['-C', REPO, 'cat-file', '-e', `${PREVIOUS}^{commit}`]);
  } catch {
    return `the previous release (${PREVIOUS.slice(0, 12)}) is not in this clone (shallow?)`;
  }
  try {
    if (!existsSync(WORKTREE))
      await run('git', ['-C', REPO, 'worktree', 'add', '--detach', WORKTREE, PREVIOUS]);
    // Its lock file is this one's or older: the packages installed here build and run it.
    if (!existsSync(join(WORKTREE, 'node_modules')))
      symlinkSync(join(REPO, 'node_modules'), join(WORKTREE, 'node_modules'));
    await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: WORKTREE,
    });
  } catch (err) {
    return `the previous release could not be built in ${WORKTREE}: ${(err as Error).message.slice(0, 300)}`;
  }
  return existsSync(built) ? undefined : `building the previous release left no ${built}`;
}

/** The counter every Load increments: old and new releases coordinate its rounds side by side. */
const COUNTER = 'rolling-upgrade-counter';

/**
 * A client writing and reading its own keys until stopped, remembering every acknowledged write,
 * and incrementing the shared counter, remembering every value an increment returned.
 */
class Load {
  readonly acked = new Map<string, string>();
  /** What each acknowledged increment of COUNTER returned. */
  readonly increments: number[] = [];
  /** Who made each increment, and when it was sent and answered: said when two return one value. */
  readonly incrementLog: string[] = [];
  readonly failures: string[] = [];
  /**
   * Increments answered "may have taken effect": while both releases coordinate the counter (each
   * at its own node), a round of one can be written over by the other's, which did not read it,
   * and a retry cannot tell whether the counter holds it (records do not list the requests they
   * hold). An honest answer, not a failure: the counter holds each of them once or not at all.
   */
  unknownIncrements = 0;
  ops = 0;
  #stopped = false;
  readonly #workers: Promise<void>[] = [];

  constructor(
    readonly name: string,
    readonly client: RingCache,
    workers = 3,
  ) {
    for (let w = 0; w < workers; w++) this.#workers.push(this.#work(w));
  }

  async #work(w: number): Promise<void> {
    for (let seq = 0; !this.#stopped; seq++) {
      const key = `${this.name}-${w}-${seq % 40}`;
      const value = `${this.name}-${w}-${seq}`;
      try {
        await this.client.set(key, value);
        this.acked.set(key, value);
        // Each key is this worker's alone, written in sequence: a quorum read sees the last write.
        const back = await this.client.get<string>(key);
        if (back !== value) this.failures.push(`${key}: wrote ${value}, read back ${String(back)}`);
        // Read-modify-writes: the previous release coordinates them at the first replica in ring
        // order, this one in the key's own order, so while both run two nodes may coordinate it.
        if (seq % 4 === 0) {
          const sent = new Date().toISOString();
          const n = await this.client.incr(COUNTER).catch((err: Error) => {
            if (!/may have taken effect/.test(err.message)) throw err;
            this.unknownIncrements++;
            return undefined;
          });
          if (n !== undefined) {
            this.increments.push(n);
            this.incrementLog.push(
              `${n}: ${this.name} worker ${w}, sent ${sent}, answered ${new Date().toISOString()}`,
            );
          }
        }
      } catch (err) {
        this.failures.push(`${key}: ${(err as Error).message}`);
      }
      this.ops++;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }
}

describe('rolling upgrade from the previous release, one node at a time under load', function () {
  // About 45 s on an idle machine (three node starts and drains); more when it is busy.
  this.timeout(240_000);
  let oldNodes: LocalCluster | undefined;
  let newNodes: LocalCluster | undefined;
  const clients: RingCache[] = [];
  const crashes: NodeExit[] = [];
  /** What the test did, and when: printed when it fails, to tell a hang from a slow machine. */
  const steps: string[] = [];
  const step = (what: string) => steps.push(`${new Date().toISOString()} ${what}`);

  before(async function () {
    this.timeout(240_000);
    const skip = await buildPrevious();
    // Required where CI requires suites: a clone with the history builds it.
    if (skip) skipBecause(this, skip, { required: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      process.stderr.write(`    steps:\n      ${steps.join('\n      ')}\n`);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await oldNodes?.stop();
    await newNodes?.stop();
  });

  it('loses no acknowledged write and fails no call but increments whose outcome cannot be told, from old and new SDKs alike', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const old = require(join(WORKTREE, 'dist/src/cli/local-cluster.js')) as Cluster;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const oldSdk = require(join(WORKTREE, 'dist/src/index.js')) as Sdk;
    const config = await testConfig({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    const options = {
      env: { RINGCACHE_CLUSTER_TOKEN: TOKEN },
      onCrash: (exit: NodeExit) => crashes.push(exit),
    };
    // Both releases run the same nodes from the same config; each launcher starts its own release.
    oldNodes = new old.LocalCluster(config, options);
    newNodes = new LocalCluster(config, options);
    await oldNodes.start();
    step('old cluster serving');

    const seeds = config.nodes.map((n) => n.address);
    const connect = async (sdk: typeof RingCache) => {
      // Deadlines far above a call's time on an idle machine: what this test looks for (a release that
      // cannot read the other) fails at once, and a busy machine must not fail calls by itself.
      const c = await sdk.connect({
        seeds,
        clusterToken: TOKEN,
        timeoutMs: 30_000,
        connectTimeoutMs: 60_000,
      });
      clients.push(c);
      return c;
    };
    const loads = [
      new Load('old-sdk', await connect(oldSdk.RingCache)),
      new Load('new-sdk', await connect(RingCache)),
    ];
    const progress = async (what: string) => {
      const from = loads.map((l) => l.ops);
      await until(what, () => loads.every((l, i) => l.ops >= from[i]! + OPS_PER_STEP), 120_000);
      step(`${what}: ${loads.map((l) => `${l.name} ${l.ops} ops`).join(', ')}`);
    };
    await progress('load on the old cluster');

    for (const id of NODES) {
      await oldNodes.stopNode(id);
      step(`old ${id} stopped`);
      await newNodes.startNode(id);
      step(`new ${id} serving`);
      await progress(`load after ${id} was upgraded`);
    }
    for (const l of loads) await l.stop();
    step('load stopped');

    expect(crashes.map((c) => `${c.id}: ${c.code ?? c.signal}`)).to.deep.equal([]);
    for (const l of loads) expect(l.failures, `${l.name}'s failed calls`).to.deep.equal([]);
    // Each acknowledged increment applied exactly once, by both releases' coordinators alike: every
    // one returned a value of its own, and the counter holds as many as were acknowledged.
    const increments = loads.flatMap((l) => l.increments);
    expect(increments.length, 'increments acknowledged').to.be.greaterThan(0);
    const twice = new Set(increments.filter((v, i) => increments.indexOf(v) !== i));
    const sameValue = loads
      .flatMap((l) => l.incrementLog)
      .filter((line) => twice.has(Number(line.split(':')[0])));
    expect(sameValue, 'increments that returned the same value').to.deep.equal([]);
    const unknown = loads.reduce((n, l) => n + l.unknownIncrements, 0);
    for (const reader of clients) {
      // A counter reads back as the decimal text Redis would answer.
      const counter = Number(await reader.get<string>(COUNTER));
      expect(counter, `the counter (${increments.length} acknowledged, ${unknown} unknown)`).to.be.within(
        increments.length,
        increments.length + unknown,
      );
      // No acknowledged increment lost behind an unknown one that did apply: each returned the
      // counter's value with it, which the counter has reached.
      expect(counter, 'the counter, against the highest value an increment returned').to.be.at.least(
        Math.max(...increments),
      );
    }
    // Every acknowledged write, read back through both SDKs from the upgraded cluster.
    for (const l of loads) {
      expect(l.acked.size, `${l.name} wrote`).to.be.greaterThan(0);
      for (const reader of clients) {
        const acked = [...l.acked];
        const read = await Promise.all(acked.map(([key]) => reader.get<string>(key)));
        expect(read, `${l.name}'s keys read back`).to.deep.equal(acked.map(([, value]) => value));
      }
    }
  });
});
