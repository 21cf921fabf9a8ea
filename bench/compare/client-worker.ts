/**
 * One client process of `bench:compare`: connects to one system with that system's usual Node client
 * and does what main.ts asks over IPC (fill, run, measure, stop, close). Run as
 * `node client-worker.js '<WorkerArgs JSON>'` with an IPC channel (child_process.fork).
 */
import { ClosedLoop } from './closed-loop';
import { openDriver } from './drivers/open';
import type { Driver } from './drivers/types';
import { fill } from './fill';
import type { FromWorker, ToWorker, WorkerArgs } from './worker-protocol';

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

async function handle(driver: Driver, msg: ToWorker, state: { loop?: ClosedLoop }): Promise<void> {
  switch (msg.type) {
    case 'fill': {
      const r = await fill(driver, msg.style, msg.count, msg.inFlight, (done) =>
        send({ type: 'progress', done }),
      );
      send({ type: 'filled', ...r });
      return;
    }
    case 'run':
      state.loop = new ClosedLoop(driver, msg.concurrency, msg.keys, msg.seed);
      send({ type: 'running' });
      return;
    case 'measure':
      state.loop?.measure();
      return;
    case 'stop': {
      const loop = state.loop;
      state.loop = undefined;
      if (loop) send({ type: 'result', result: await loop.stop() });
      return;
    }
    case 'close':
      await driver.close();
      process.disconnect?.();
      return;
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  const driver = await openDriver(args.spec);
  const state: { loop?: ClosedLoop } = {};
  process.on('message', (msg: ToWorker) => {
    handle(driver, msg, state).catch((err: unknown) => {
      send({ type: 'error', message: messageOf(err) });
    });
  });
  // The parent going away (Ctrl-C, crash) must not leave this process looping.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: messageOf(err) });
  process.exitCode = 1;
  process.disconnect?.();
});
