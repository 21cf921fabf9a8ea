import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { realScheduler } from '../../../../src/cluster/membership/scheduler';
import { ProbeTimeoutError, withDeadline } from '../../../../src/cluster/membership/deadline';
import { FakeScheduler } from './fake-cluster';

/** A call that only ends when its signal aborts, like a transport waiting on a silent peer. */
const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error('transport aborted'))),
  );

describe('withDeadline', () => {
  it('resolves with the answer and clears its timer', async () => {
    const scheduler = new FakeScheduler();
    const value = await withDeadline(scheduler, 300, new AbortController().signal, () => Promise.resolve(42));
    expect(value).to.equal(42);
    expect(scheduler.pendingTimers).to.equal(0);
  });

  it('rejects at the deadline on the injected clock and aborts the call', async () => {
    const scheduler = new FakeScheduler();
    let callSignal: AbortSignal | undefined;
    const result = withDeadline(scheduler, 300, new AbortController().signal, (s) => {
      callSignal = s;
      return hang(s);
    }).catch((err: unknown) => err);
    await scheduler.advance(299);
    expect(callSignal!.aborted).to.equal(false);
    await scheduler.advance(1);
    expect(await result).to.be.instanceOf(ProbeTimeoutError);
    expect(callSignal!.aborted).to.equal(true);
  });

  it('rejects when the parent aborts (stop), leaving no timer', async () => {
    const scheduler = new FakeScheduler();
    const parent = new AbortController();
    const result = withDeadline(scheduler, 300, parent.signal, hang).catch((err: unknown) => err);
    parent.abort();
    expect(await result).to.be.instanceOf(ProbeTimeoutError);
    expect(scheduler.pendingTimers).to.equal(0);
  });

  it('rejects at the deadline even when the transport ignores the signal', async () => {
    const scheduler = new FakeScheduler();
    const result = withDeadline(
      scheduler,
      100,
      new AbortController().signal,
      () => new Promise<never>(() => {}),
    );
    const caught = result.catch((err: unknown) => err);
    await scheduler.advance(100);
    expect(await caught).to.be.instanceOf(ProbeTimeoutError);
  });

  it('turns a call that throws synchronously into a rejection without leaking its timer', async () => {
    const scheduler = new FakeScheduler();
    const caught = await withDeadline(scheduler, 100, new AbortController().signal, () => {
      throw new Error('boom');
    }).catch((err: unknown) => err);
    expect((caught as Error).message).to.equal('boom');
    expect(scheduler.pendingTimers).to.equal(0);
  });

  it('reads an answer that arrived while the process was busy past the deadline before declaring it missed', async () => {
    // A real socket pair on this process's event loop: the answer is in the kernel before the
    // deadline, but the loop is blocked past it, so on resuming it runs the expired timer first.
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    const connected = once(client, 'connect');
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    // Connected on this side too, so the write below reaches the kernel at once, not after the loop.
    await connected;
    try {
      const answered = withDeadline(realScheduler, 20, new AbortController().signal, () =>
        once(accepted, 'data').then(([chunk]) => String(chunk)),
      );
      client.write('ack');
      const busyUntil = Date.now() + 100;
      while (Date.now() < busyUntil); // the event loop held past the 20 ms deadline
      expect(await answered).to.equal('ack');
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });
});
