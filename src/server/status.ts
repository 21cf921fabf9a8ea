import { Metadata, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import { toCodeAndMessage } from '../proto/status-codes';
import { METADATA } from '../proto/messages';

/** Anything a unary handler threw, as the status the caller receives. */
export function toStatus(err: unknown, log: Logger): Partial<StatusObject> {
  const { code, message, error } = toCodeAndMessage(err, (bug) =>
    log.error({ err: bug }, 'unexpected error in handler'),
  );
  const metadata = new Metadata();
  metadata.set(METADATA.errorCode, error);
  return { code, details: message, metadata };
}
