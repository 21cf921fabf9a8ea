import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CLI_PATH } from '../../src/cli/local-cluster';
import type { NetHosts } from './net-hosts';

/** deploy/k8s, from dist/test/hosts or test/hosts alike. */
export const K8S_DIR = path.resolve(__dirname, '../../..', 'deploy/k8s');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Container {
  args: string[];
  env: EnvVar[];
  volumeMounts: { name: string; mountPath: string }[];
  ports: { name: string; containerPort: number }[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
}
export interface StatefulSet {
  metadata: { name: string };
  spec: {
    replicas: number;
    serviceName: string;
    template: { spec: { containers: Container[]; volumes: Volume[]; terminationGracePeriodSeconds: number } };
  };
}
interface ConfigMap {
  metadata: { name: string };
  data: Record<string, string>;
}

/** The manifests of deploy/k8s as the test uses them: the StatefulSet and the ConfigMaps by name. */
export function readManifests(): { sts: StatefulSet; configMaps: Map<string, ConfigMap> } {
  const docs = ['statefulset.yaml', 'configmap.yaml'].flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(K8S_DIR, f), 'utf8')).map((d) => d.toJS() as { kind: string }),
  );
  const sts = docs.find((d) => d.kind === 'StatefulSet') as unknown as StatefulSet;
  const configMaps = new Map(
    docs
      .filter((d) => d.kind === 'ConfigMap')
      .map((d) => d as unknown as ConfigMap)
      .map((c) => [c.metadata.name, c]),
  );
  return { sts, configMaps };
}

/**
 * Pods of the StatefulSet without Kubernetes: pod `name-i` is a node process on network-namespace
 * host i + 1, started as the kubelet would start its container: the image's entrypoint (`node
 * dist/src/cli/main.js`) with the manifest's args, $(VAR) in them expanded from the container's env,
 * that env (metadata.name from the pod's name), and each volume's files (ConfigMap data, the Secret's
 * token) under its mountPath. The one liberty: a mountPath is a directory of this test's (the
 * machine's /etc is not ours to write), and every mention of it in args and env is rewritten to that
 * directory. Each host's /etc/hosts (ip netns exec mounts /etc/netns/NAME/hosts there) names every
 * pod as the headless Service's DNS does, `ringcache-0.ringcache`, relative to the namespace.
 */
export class Pods {
  readonly #net: NetHosts;
  readonly #sts: StatefulSet;
  readonly #configMaps: Map<string, ConfigMap>;
  readonly #dir: string;
  readonly #token: string;
  readonly #running = new Map<
    string,
    { child: ChildProcess; output: string[]; closed: Promise<unknown[]> }
  >();
  /** Hosts beyond the pods' (a client's): one more than the most pods. */
  readonly clientHost: number;

  constructor(net: NetHosts, dir: string, token: string, maxPods: number) {
    const { sts, configMaps } = readManifests();
    this.#net = net;
    this.#sts = sts;
    this.#configMaps = configMaps;
    this.#dir = dir;
    this.#token = token;
    this.clientHost = maxPods + 1;
    if (net.count < maxPods + 1) throw new Error(`${maxPods} pods and a client need ${maxPods + 1} hosts`);
  }

  get statefulSet(): StatefulSet {
    return this.#sts;
  }

  /** Pod name of ordinal i. */
  name(i: number): string {
    return `${this.#sts.metadata.name}-${i}`;
  }

  /** The pod's DNS name under the headless Service (what the manifests use). */
  dns(i: number): string {
    return `${this.name(i)}.${this.#sts.spec.serviceName}`;
  }

  /** The pod's address on its host, as the test process dials it (it has no DNS of the pods). */
  ip(i: number): string {
    return this.#net.address(i + 1);
  }

  port(name: 'grpc' | 'http'): number {
    return this.#container.ports.find((p) => p.name === name)!.containerPort;
  }

  get #container(): Container {
    return this.#sts.spec.template.spec.containers[0]!;
  }

  /** /etc/hosts (and a resolv.conf with no reachable server) for every host: the pods' names. */
  writeHostsFiles(maxPods: number): void {
    const lines = ['127.0.0.1 localhost'];
    for (let i = 0; i < maxPods; i++)
      lines.push(`${this.ip(i)} ${this.dns(i)} ${this.dns(i)}.default.svc.cluster.local`);
    for (let h = 1; h <= this.#net.count; h++) {
      const dir = this.#etcOf(h);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'hosts'), `${lines.join('\n')}\n`);
      // DNS queries (grpc-js asks for TXT records) fail at once instead of timing out.
      writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    }
  }

  /** Removes the hosts files (teardown). */
  removeHostsFiles(): void {
    for (let h = 1; h <= this.#net.count; h++) rmSync(this.#etcOf(h), { recursive: true, force: true });
  }

  #etcOf(host: number): string {
    return path.join('/etc/netns', this.#net.prefix(host)[3]!);
  }

  /** Starts pod i as its container would start; resolves at once (readiness is the caller's to await). */
  start(i: number): void {
    const pod = this.name(i);
    if (this.#running.has(pod)) throw new Error(`${pod} is running`);
    const spec = this.#sts.spec.template.spec;
    const mounts = new Map<string, string>();
    for (const m of this.#container.volumeMounts) {
      const dir = path.join(this.#dir, pod, m.name);
      mkdirSync(dir, { recursive: true });
      const volume = spec.volumes.find((v) => v.name === m.name)!;
      if (volume.configMap) {
        const cm = this.#configMaps.get(volume.configMap.name)!;
        for (const [file, text] of Object.entries(cm.data)) writeFileSync(path.join(dir, file), text);
      } else if (volume.secret) {
        const file = path.join(dir, 'token');
        writeFileSync(file, this.#token);
        chmodSync(file, 0o400);
      }
      mounts.set(m.mountPath, dir);
    }
    // Whole path segments only: /etc/ringcache is not the start of /etc/ringcache-secret.
    const remount = (s: string) => {
      for (const [mountPath, dir] of mounts)
        s = s.replace(new RegExp(`${mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$)`, 'g'), dir);
      return s;
    };
    const env: Record<string, string> = {};
    for (const e of this.#container.env) {
      if (e.value !== undefined) env[e.name] = remount(e.value);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod;
      else throw new Error(`env ${e.name}: only values and metadata.name are handled here`);
    }
    // Kubernetes expands $(VAR) in args from the container's env.
    const args = this.#container.args.map((a) =>
      remount(a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, v: string) => env[v] ?? `$(${v})`)),
    );
    const [command, ...rest] = [...this.#net.prefix(i + 1), process.execPath, CLI_PATH, ...args];
    const child = spawn(command!, rest, {
      // A container's environment is its own: nothing of this process's leaks in (PATH for `ip`).
      env: { PATH: process.env.PATH ?? '', RINGCACHE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (b: Buffer) => {
      output.push(...b.toString().split('\n').filter(Boolean));
      if (output.length > 3000) output.splice(0, output.length - 3000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.#running.set(pod, { child, output, closed: once(child, 'close') });
  }

  isRunning(i: number): boolean {
    return this.#running.has(this.name(i));
  }

  /** Whether pod i's process ended by itself (a pod that crashed: its container would restart). */
  exited(i: number): boolean {
    const child = this.#running.get(this.name(i))?.child;
    return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
  }

  output(i: number): string[] {
    return this.#running.get(this.name(i))?.output ?? [];
  }

  /**
   * Deletes pod i as the kubelet does: SIGTERM, then SIGKILL after terminationGracePeriodSeconds.
   * Resolves with how it ended.
   */
  async delete(i: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const pod = this.name(i);
    const running = this.#running.get(pod);
    if (!running) return { code: null, signal: null };
    const { child } = running;
    const closed = running.closed as Promise<[number | null, NodeJS.Signals | null]>;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const grace = setTimeout(
      () => child.kill('SIGKILL'),
      this.#sts.spec.template.spec.terminationGracePeriodSeconds * 1000,
    );
    const [code, signal] = await closed;
    clearTimeout(grace);
    this.#running.delete(pod);
    return { code, signal };
  }

  /** Every pod killed at once (test teardown). */
  async killAll(): Promise<void> {
    await Promise.all(
      [...this.#running.values()].map(async ({ child, closed }) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await closed;
      }),
    );
    this.#running.clear();
  }
}
