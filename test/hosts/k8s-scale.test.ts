import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_PATH } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { until } from '../support/cluster';
import { HealthClient } from '../support/grpc-tools';
import { skipBecause } from '../support/skip-reasons';
import { Pods } from './k8s-pods';
import { NetHosts } from './net-hosts';

/**
 * deploy/k8s without Kubernetes: the StatefulSet's pods are node processes started exactly as its
 * manifest says (k8s-pods.ts), each on a network-namespace host whose /etc/hosts names the pods as
 * the headless Service does, and a client pod runs the SDK under a write load. Then what
 * deploy/k8s/README.md tells an operator to do: scale up 3 -> 4 (the new pod joins by itself), scale
 * down 4 -> 3 (`ringcache leave`, then the pod is deleted), and a rolling restart of one pod (not a
 * leave). Throughout: no acknowledged write lost, and every node and the SDK end on one ring.
 */
const MAX_PODS = 4;

interface Worker {
  ask<T>(command: string): Promise<T>;
  child: ChildProcess;
}

/** The SDK load on the client host (sdk-load-worker.ts), talked to over its stdin and stdout. */
async function startWorker(net: NetHosts, host: number, seeds: string[]): Promise<Worker> {
  const [command, ...args] = [
    ...net.prefix(host),
    process.execPath,
    path.join(__dirname, 'sdk-load-worker.js'),
    ...seeds,
  ];
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = () =>
    new Promise<string>((resolve) => {
      const l = lines.shift();
      if (l !== undefined) resolve(l);
      else waiting.push(resolve);
    });
  const first = JSON.parse(await next()) as { ready?: boolean; error?: string };
  if (!first.ready) throw new Error(`the SDK worker did not start: ${first.error}`);
  return {
    child,
    ask: async <T>(cmd: string) => {
      child.stdin.write(`${cmd}\n`);
      const answer = JSON.parse(await next()) as T & { error?: string };
      if (answer.error) throw new Error(`SDK worker: ${answer.error}`);
      return answer;
    },
  };
}

describe('deploy/k8s on network-namespace hosts: scale up 3 -> 4 and down 4 -> 3 under load', function () {
  this.timeout(480_000);
  let net: NetHosts | undefined;
  let pods: Pods | undefined;
  let worker: Worker | undefined;
  let dir: string | undefined;
  /** `ringcache leave` while it runs: killed in after() should the test time out during it. */
  let leaving: ChildProcess | undefined;

  before(async function () {
    const reason = await NetHosts.probe();
    if (reason) skipBecause(this, reason, { required: true });
  });
  after(async () => {
    leaving?.kill('SIGKILL');
    worker?.child.kill('SIGKILL');
    await pods?.killAll();
    pods?.removeHostsFiles();
    await net?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the new pod joins by itself, the leaving one hands its keys over, a restart is not a leave', async () => {
    net = new NetHosts(MAX_PODS + 1);
    await net.setup();
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-k8s-'));
    const token = randomBytes(32).toString('hex');
    const p = new Pods(net, dir, token, MAX_PODS);
    pods = p;
    p.writeHostsFiles(MAX_PODS);
    const replicas = p.statefulSet.spec.replicas;
    expect(replicas, 'the StatefulSet starts with 3 pods').to.equal(3);
    const grpcPort = p.port('grpc');

    const health = async (i: number) => {
      const h = new HealthClient(`${p.ip(i)}:${grpcPort}`);
      try {
        return await h.check();
      } finally {
        h.close();
      }
    };
    /** The readiness probe: gRPC health SERVING (each pod printing its log lines if it never is). */
    const ready = (i: number) =>
      until(
        `${p.name(i)} ready`,
        async () => {
          if (p.exited(i)) throw new Error(`${p.name(i)} exited`);
          return (await health(i)) === 'SERVING';
        },
        90_000,
        200,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${p.output(i).slice(-20).join('\n')}`);
      });
    const ringOf = async (i: number) => {
      const c = new UnaryClient(`${p.ip(i)}:${grpcPort}`, 3000);
      try {
        const t = await c.cluster<TopologyResponseMsg>('Topology', {});
        return `${t.epoch}:${t.members
          .map((m) => m.id)
          .sort()
          .join(',')}`;
      } finally {
        c.close();
      }
    };
    /** Every running pod and the SDK on one ring of `count` members; returns it. */
    const oneRing = async (count: number, what: string): Promise<string> =>
      (await until(
        what,
        async () => {
          const running = Array.from({ length: MAX_PODS }, (_, i) => i).filter((i) => p.isRunning(i));
          const rings = await Promise.all(running.map(ringOf));
          const sdk = await worker!.ask<{ epoch: number; members: string[] }>('ring');
          const all = new Set([...rings, `${sdk.epoch}:${sdk.members.join(',')}`]);
          const [ring] = [...all];
          return all.size === 1 && ring!.split(':')[1]!.split(',').length === count ? ring : undefined;
        },
        60_000,
        300,
      )) ?? '';
    const acked = async () => (await worker!.ask<{ acked: number }>('progress')).acked;
    /** Resolves once 200 more writes were acknowledged: the load goes on through this step. */
    const progress = async (what: string) => {
      const from = await acked();
      await until(what, async () => (await acked()) >= from + 200, 60_000, 200);
      mark(what);
    };
    /** How long each step took, printed at the end (what a reader of a slow run wants first). */
    const marks: string[] = [];
    let lastMark = Date.now();
    const mark = (what: string) => {
      marks.push(`${what}: ${((Date.now() - lastMark) / 1000).toFixed(1)} s`);
      lastMark = Date.now();
    };

    // kubectl apply: podManagementPolicy Parallel starts every pod at once.
    for (let i = 0; i < replicas; i++) p.start(i);
    for (let i = 0; i < replicas; i++) await ready(i);
    mark('three pods ready');
    // A client pod dials the members the ConfigMap names, by their DNS names.
    const seeds = Array.from({ length: replicas }, (_, i) => `${p.dns(i)}:${grpcPort}`);
    worker = await startWorker(net, p.clientHost, seeds);
    const first = await oneRing(3, 'the three pods and the SDK on one ring');
    mark('one ring');
    await progress('writes acknowledged on three pods');

    // Scale up: kubectl scale statefulset ringcache --replicas=4. Nothing else.
    p.start(3);
    await ready(3);
    mark('ringcache-3 ready');
    const grown = await oneRing(4, 'every pod and the SDK on the ring with ringcache-3');
    mark('one ring with ringcache-3');
    expect(Number(grown.split(':')[0])).to.be.greaterThan(Number(first.split(':')[0]));
    await progress('writes acknowledged on four pods');

    // Scale down: ringcache leave ringcache-3 (waits until its keys moved), then kubectl scale --replicas=3.
    const [command, ...args] = [
      ...net.prefix(p.clientHost),
      process.execPath,
      CLI_PATH,
      'leave',
      p.name(3),
      '--addr',
      seeds[0]!,
    ];
    const leave = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', RINGCACHE_CLUSTER_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    leaving = leave;
    let leaveOutput = '';
    leave.stdout.on('data', (b: Buffer) => (leaveOutput += b.toString()));
    leave.stderr.on('data', (b: Buffer) => (leaveOutput += b.toString()));
    const [leaveCode] = (await once(leave, 'close')) as [number | null];
    leaving = undefined;
    const podLogs = () =>
      [0, 1, 2, 3]
        .flatMap((i) =>
          p
            .output(i)
            .filter((l) => /"level":(40|50)/.test(l))
            .slice(-8),
        )
        .join('\n');
    mark('ringcache leave');
    expect(leaveCode, `${leaveOutput}\n${podLogs()}`).to.equal(0);
    expect(leaveOutput).to.include('handed its keys over and is not serving');
    expect(await health(3)).to.equal('NOT_SERVING');
    const deleted = await p.delete(3);
    expect(deleted.code, 'ringcache-3 drained on SIGTERM').to.equal(0);
    const shrunk = await oneRing(3, 'every pod and the SDK on the ring without ringcache-3');
    mark('one ring without ringcache-3');
    expect(shrunk).to.not.include(p.name(3));
    await progress('writes acknowledged after the scale-down');

    // A rolling restart of one pod is a restart, not a leave: the ring does not change.
    expect((await p.delete(1)).code).to.equal(0);
    p.start(1);
    await ready(1);
    mark('ringcache-1 restarted and ready');
    expect(await oneRing(3, 'every pod and the SDK on one ring after the restart')).to.equal(shrunk);
    await progress('writes acknowledged after the restart');

    const end = await worker.ask<{ acked: number; failed: number }>('stop');
    const { lost, checked } = await worker.ask<{ lost: string[]; checked: number }>('verify');
    mark('acknowledged writes read back');
    console.log(`      ${marks.join('; ')}`);
    console.log(
      `      ${end.acked} writes acknowledged, ${end.failed} failed (outcome unknown); rings ${first} -> ${grown} -> ${shrunk}`,
    );
    expect(checked).to.equal(end.acked);
    expect(lost.slice(0, 20), `${lost.length} acknowledged writes lost`).to.deep.equal([]);
    worker.child.stdin!.end('exit\n');
    await once(worker.child, 'close');
  });
});
