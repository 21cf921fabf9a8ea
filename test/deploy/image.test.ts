import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { UnaryClient } from '../../src/cli/unary-client';
import { READY_LINE } from '../../src/cli/local-cluster';
import { ValueFlags, type GetResponseMsg } from '../../src/proto/messages';
import { until } from '../support/cluster';
import { freePorts } from '../support/ports';
import { skipBecause } from '../support/skip-reasons';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'deploy/build-image.sh');
const TAG = 'localhost/ringcache:image-test';
/** `0` skips the test where it would run (a first build makes the base image and takes minutes). */
const OPT_OUT = 'RINGCACHE_IMAGE_TEST';

async function has(command: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  WorkingDir?: string;
}

// deploy/Dockerfile built as it is, by deploy/build-image.sh, then run as the StatefulSet runs it
// (entrypoint, `node --config`, RINGCACHE_NODE_ID, the config and secret mounted read-only). The
// container runs under buildah's chroot isolation: podman's runtime (crun) refuses this kernel's
// hybrid cgroups, and chroot isolation shares the host's network and process ids, so the node's
// ports and pid are this machine's.
describe('container image (deploy/Dockerfile)', function () {
  this.timeout(20 * 60_000);
  let work = '';
  let container = '';
  let node: ChildProcess | undefined;
  let output = '';
  let grpcAddr = '';
  let httpAddr = '';
  let config: ImageConfig = {};
  let rootfs = '';

  before(async function () {
    if (process.env[OPT_OUT] === '0') skipBecause(this, `${OPT_OUT}=0 says not to build the image`);
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root: debootstrap and chroot isolation');
    if (!(await has('buildah')) || !(await has('debootstrap')))
      skipBecause(this, 'needs buildah and debootstrap (apt-get install podman buildah debootstrap)');
    await run(SCRIPT, [TAG], { maxBuffer: 64 * 1024 * 1024 }).catch(
      (err: Error & { stdout?: string; stderr?: string }) => {
        // The builder prints each step's output (a compiler error, say) on stdout.
        const said = `${err.stdout ?? ''}${err.stderr ?? ''}`.split('\n').slice(-40).join('\n');
        throw new Error(`${SCRIPT} failed:\n${said}`);
      },
    );
    const { stdout } = await run('buildah', ['inspect', '--type', 'image', TAG], {
      maxBuffer: 16 * 1024 * 1024,
    });
    config = (JSON.parse(stdout) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    work = mkdtempSync(path.join(os.tmpdir(), 'ringcache-image-'));
    const [port, httpPort] = await freePorts(2);
    grpcAddr = `127.0.0.1:${port}`;
    httpAddr = `127.0.0.1:${httpPort}`;
    const clusterYml = path.join(work, 'cluster.yml');
    writeFileSync(clusterYml, `nodes:\n  - { id: pod-0, address: ${grpcAddr}, http: ${httpAddr} }\n`);
    const token = path.join(work, 'token');
    writeFileSync(token, 'image-test-secret\n');
    // Readable by the image's user, as a mounted ConfigMap and Secret are.
    chmodSync(work, 0o755);
    chmodSync(clusterYml, 0o644);
    chmodSync(token, 0o644);
    container = (await run('buildah', ['from', '--pull-never', TAG])).stdout.trim();
    rootfs = (await run('buildah', ['mount', container])).stdout.trim();
    await run('buildah', [
      'config',
      '--env',
      'RINGCACHE_NODE_ID=pod-0',
      '--env',
      'RINGCACHE_CLUSTER_TOKEN_FILE=/etc/ringcache-secret/token',
      container,
    ]);
    node = spawn(
      'buildah',
      [
        'run',
        '--isolation',
        'chroot',
        '-v',
        `${clusterYml}:/etc/ringcache/cluster.yml:ro`,
        '-v',
        `${token}:/etc/ringcache-secret/token:ro`,
        container,
        '--',
        ...(config.Entrypoint ?? []),
        'node',
        '--config',
        '/etc/ringcache/cluster.yml',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    node.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    node.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    await until(
      'the node in the image to say it serves',
      () => output.includes(`${READY_LINE} pod-0`),
      60_000,
    );
  });

  after(async () => {
    if (node && node.exitCode === null && node.signalCode === null) {
      node.kill('SIGKILL');
      await once(node, 'close');
    }
    if (container) await run('buildah', ['rm', container]).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs as a non-root user, with the package and its production dependencies only', async () => {
    expect(config.User).to.match(/^[1-9]\d*(:\d+)?$/);
    expect(config.Entrypoint).to.deep.equal(['node', 'dist/src/cli/main.js']);
    const app = path.join(rootfs, config.WorkingDir ?? '/app');
    for (const present of [
      'dist/src/cli/main.js',
      'proto/ringcache/v1/cache.proto',
      'node_modules/@grpc/grpc-js',
    ])
      expect(existsSync(path.join(app, present)), present).to.equal(true);
    for (const absent of [
      'dist/test',
      'dist/bench',
      'src',
      'test',
      'node_modules/typescript',
      'node_modules/mocha',
    ])
      expect(existsSync(path.join(app, absent)), absent).to.equal(false);
    // OpenTelemetry's exporter is an optional peer dependency of the package, installed beside it
    // (/node_modules, where Node looks after /app/node_modules) so that a node in the image can trace.
    for (const tracing of ['@opentelemetry/api', '@opentelemetry/exporter-trace-otlp-http'])
      expect(existsSync(path.join(rootfs, 'node_modules', tracing)), tracing).to.equal(true);
    const { stdout } = await run('buildah', ['images', '--format', '{{.Size}}', TAG]);
    console.log(`      image ${TAG}: ${stdout.trim()}`);
  });

  it('serves: HTTP liveness and readiness, and gRPC calls', async () => {
    expect((await fetch(`http://${httpAddr}/livez`)).status).to.equal(200);
    expect((await fetch(`http://${httpAddr}/healthz`)).status).to.equal(200);
    const client = new UnaryClient(grpcAddr, 5000);
    try {
      await client.cache('Set', {
        key: 'k',
        value: Buffer.from('v'),
        flags: ValueFlags.UTF8,
        ttlMs: 0,
        mode: 0,
      });
      const got = await client.cache<GetResponseMsg>('Get', { key: 'k' });
      expect(got.value.toString()).to.equal('v');
    } finally {
      client.close();
    }
  });

  it('drains and exits 0 on SIGTERM, the signal a pod is stopped with', async () => {
    // The node's own pid, from its log lines (chroot isolation shares this machine's pids).
    const pid = Number(/"pid":(\d+)/.exec(output)?.[1]);
    expect(pid, 'a pid in the node log').to.be.greaterThan(1);
    const closed = once(node!, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    process.kill(pid, 'SIGTERM');
    const [code] = await closed;
    expect(output).to.include('"signal":"SIGTERM"');
    expect(output).to.include('node draining');
    expect(output).to.include('node stopped');
    expect(code, output.slice(-2000)).to.equal(0);
  });
});
