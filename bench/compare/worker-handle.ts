import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { RingCacheError } from '../../src/errors';
import type { DriverSpec } from './drivers/types';
import { own } from './processes';
import type { FromWorker, PointResult, ToWorker, WorkerArgs } from './worker-protocol';

const WORKER_PATH = path.resolve(__dirname, 'client-worker.js');

type Waiter = { type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void };

/** The parent's side of one client worker process: typed requests, one awaited answer at a time. */
export class WorkerHandle {
  readonly #child: ChildProcess;
  readonly #forget: () => void;
  #waiter: Waiter | undefined;
  #failure: Error | undefined;
  onProgress: (done: number) => void = () => undefined;

  private constructor(spec: DriverSpec) {
    const args: WorkerArgs = { spec };
    this.#child = fork(WORKER_PATH, [JSON.stringify(args)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#forget = own({
      stop: () => this.close(),
      pids: () => (this.#child.exitCode === null && this.#child.pid ? [this.#child.pid] : []),
    });
    this.#child.on('message', (msg: FromWorker) => this.#onMessage(msg));
    this.#child.once('exit', (code, signal) => {
      this.#fail(new RingCacheError('UNAVAILABLE', `client worker exited (${signal ?? `code ${code}`})`));
    });
  }

  /** Forks a worker and waits until its client has connected. */
  static async open(spec: DriverSpec): Promise<WorkerHandle> {
    const h = new WorkerHandle(spec);
    await h.#expect('ready');
    return h;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  async fill(
    msg: Omit<Extract<ToWorker, { type: 'fill' }>, 'type'>,
  ): Promise<Extract<FromWorker, { type: 'filled' }>> {
    this.#send({ type: 'fill', ...msg });
    return (await this.#expect('filled')) as Extract<FromWorker, { type: 'filled' }>;
  }

  async run(concurrency: number, keys: number, seed: number): Promise<void> {
    this.#send({ type: 'run', concurrency, keys, seed });
    await this.#expect('running');
  }

  measure(): void {
    this.#send({ type: 'measure' });
  }

  async stop(): Promise<PointResult> {
    this.#send({ type: 'stop' });
    return ((await this.#expect('result')) as Extract<FromWorker, { type: 'result' }>).result;
  }

  /** Asks the worker to close its client and exit; SIGKILL after 5 s. Idempotent. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#forget();
    const exited = new Promise((r) => this.#child.once('exit', r));
    if (this.#child.connected) this.#child.send({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.#forget();
  }

  #send(msg: ToWorker): void {
    if (this.#failure) throw this.#failure;
    this.#child.send(msg);
  }

  #expect(type: FromWorker['type']): Promise<FromWorker> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { type, resolve, reject };
    });
  }

  #onMessage(msg: FromWorker): void {
    if (msg.type === 'progress') return this.onProgress(msg.done);
    if (msg.type === 'error')
      return this.#fail(new RingCacheError('UNAVAILABLE', `client worker: ${msg.message}`));
    const w = this.#waiter;
    if (w?.type !== msg.type) return;
    this.#waiter = undefined;
    w.resolve(msg);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
  }
}
