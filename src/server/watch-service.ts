import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import { ChangeKindWire, Code, type WatchEventMsg } from '../proto/messages';
import type { ChangeKind, ChangeListener } from '../store/change-feed';
import type { LimitRefusals } from './request-limits';

/** Bytes a watcher may leave unread before its events are dropped (the sequence then jumps). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

const KIND: Record<ChangeKind, number> = {
  set: ChangeKindWire.SET,
  delete: ChangeKindWire.DELETE,
  touch: ChangeKindWire.TOUCH,
};

export interface WatchServiceDeps {
  selfId: string;
  /** Subscribes to the store's changes; returns the unsubscribe. */
  listen(listener: ChangeListener): () => void;
  maxKeyBytes: number;
  logger: Logger;
  /** Where a refused prefix is counted (ringcache_limit_refusals_total{limit="max_key_bytes"}). */
  refusals?: LimitRefusals;
}

/**
 * Cache/Watch (issue 14 §3): a server stream of the changes this node's store applies, filtered by
 * key prefix. Each stream numbers its events; one it cannot send because the reader is slow (more
 * than MAX_BUFFERED_BYTES unread) is dropped but still numbered, so the reader sees the gap.
 */
export function watchService(deps: WatchServiceDeps): {
  Watch: (call: grpc.ServerWritableStream<{ prefix: string }, WatchEventMsg>) => void;
  endWatches: () => void;
} {
  const open = new Set<grpc.ServerWritableStream<{ prefix: string }, WatchEventMsg>>();
  return {
    Watch: (call) => {
      const prefix = call.request.prefix ?? '';
      const prefixBytes = Buffer.byteLength(prefix);
      if (prefixBytes > deps.maxKeyBytes) {
        // A status, not call.destroy(err): destroying the call sent none, and the client waited
        // for its deadline.
        const refusal = {
          limit: 'max_key_bytes' as const,
          code: Code.INVALID_ARGUMENT,
          message: `prefix is ${prefixBytes} bytes; limits.max_key_bytes is ${deps.maxKeyBytes}`,
        };
        deps.refusals?.note(refusal);
        call.emit('error', { code: refusal.code, details: refusal.message });
        return;
      }
      let sequence = 0;
      let dropped = 0;
      open.add(call);
      call.write({ sequence, key: '', kind: ChangeKindWire.UNSPECIFIED, version: null, node: deps.selfId });
      const stop = deps.listen((key, kind, version) => {
        if (!key.startsWith(prefix)) return;
        sequence++;
        if (call.writableLength > MAX_BUFFERED_BYTES) {
          if (dropped++ === 0) deps.logger.warn({ prefix }, 'watcher reads too slowly: dropping its events');
          return;
        }
        call.write({
          sequence,
          key,
          kind: KIND[kind],
          version: { timestamp: version.timestamp, node: version.node },
          node: deps.selfId,
        });
      });
      const close = () => {
        stop();
        open.delete(call);
      };
      call.on('cancelled', close);
      call.on('close', close);
      call.on('error', close);
    },
    endWatches: () => {
      for (const call of open) call.end();
      open.clear();
    },
  };
}
