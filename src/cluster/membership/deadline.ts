import type { Scheduler } from './types';

/** Rejection reason when a deadline passes; the probe loop treats it like any failed ping. */
export class ProbeTimeoutError extends Error {
  override readonly name = 'ProbeTimeoutError';
}

/**
 * Runs `call` with a signal aborted when `parent` aborts (stop()) or after `ms` on the injected
 * scheduler (AbortSignal.timeout would use real time and escape the test clock). The result rejects at
 * the deadline even if the transport ignores the signal, so a misbehaving transport cannot stall the
 * probe loop. The timer and the parent listener are removed when the call settles: nothing leaks.
 */
export function withDeadline<T>(
  scheduler: Scheduler,
  ms: number,
  parent: AbortSignal,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (parent.aborted) return Promise.reject(new ProbeTimeoutError('aborted before start'));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      controller.abort();
      reject(new ProbeTimeoutError('aborted'));
    };
    // The verdict waits one more turn of the event loop (a 0 ms timer runs after this turn's I/O):
    // a process that was busy past the deadline (a full CPU, a long collection) runs its expired
    // timers before it reads its sockets, so an answer that came in time would be read only after
    // the deadline had been declared missed, and a busy node would suspect healthy peers.
    let timer = scheduler.setTimeout(() => {
      timer = scheduler.setTimeout(() => {
        parent.removeEventListener('abort', onAbort);
        const err = new ProbeTimeoutError(`no answer within ${ms} ms`);
        controller.abort(err);
        reject(err);
      }, 0);
    }, ms);
    function cleanup(): void {
      scheduler.clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    }
    parent.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = call(controller.signal);
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    pending.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
