import { RingCacheError } from '../../errors';
import type { Scheduler } from '../membership/types';
import { NewerRing, NotCaughtUp } from '../peer-transport';

/** Pause before asking again a replica whose connection failed at once (refused, reconnecting). */
export const RETRY_UNAVAILABLE_MS = 50;

/**
 * `call` once, and again every RETRY_UNAVAILABLE_MS while its answer is `refusedAtOnce` and time
 * before `untilMs` is left: the one place where a peer that refuses a call at once is asked again. A
 * connection refused or still coming up fails at once: a peer's process just started, or its
 * channel waits in grpc-js's reconnect backoff (up to seconds after the peer was down, while the
 * peer already serves). Asked again, such a replica answers in time instead of counting as down.
 * `done` ends the retries early (the caller has what it needs): the last answer is then the answer.
 */
export function retryWhileRefused<T>(
  clock: Scheduler,
  untilMs: number,
  call: () => Promise<T>,
  refusedAtOnce: (answer: T) => boolean,
  done: () => boolean = () => false,
): Promise<T> {
  return new Promise((resolve) => {
    const attempt = () => {
      void call().then((out) => {
        const again = refusedAtOnce(out) && clock.now() + RETRY_UNAVAILABLE_MS < untilMs && !done();
        if (again) clock.setTimeout(attempt, RETRY_UNAVAILABLE_MS);
        else resolve(out);
      });
    };
    attempt();
  });
}

/**
 * One replica's answer (a read, a prepare, a replica write), asked again while it fails
 * UNAVAILABLE (retryWhileRefused), until its deadline. A replica that answered it is catching up
 * (NotCaughtUp) is not asked again: its answer would not count before its catch-up ends, which may
 * take minutes; nor is one that answered holding a newer ring (NewerRing): its answer counts on no
 * older ring.
 */
export function askReplica<T>(
  clock: Scheduler,
  deadlineMs: number,
  call: () => Promise<T | RingCacheError>,
  done: () => boolean = () => false,
): Promise<T | RingCacheError> {
  return retryWhileRefused(
    clock,
    deadlineMs,
    call,
    (out) =>
      out instanceof RingCacheError &&
      out.code === 'UNAVAILABLE' &&
      !(out instanceof NotCaughtUp) &&
      !(out instanceof NewerRing),
    done,
  );
}
