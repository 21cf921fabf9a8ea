import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { Operation, Outcome } from '../../../src/cluster/replication/operation';
import { cacheService } from '../../../src/server/cache-service';
import type { OperationExecutor } from '../../../src/server/operation-executor';

const MiB = 1024 * 1024;

/** A unary call as grpc-js hands it to a handler. */
function unaryCall(request: unknown) {
  return {
    request,
    metadata: new grpc.Metadata(),
    cancelled: false,
    getDeadline: () => Infinity,
  } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
}

/** Calls a handler and resolves with the error it answered (undefined for a success). */
function callOf(handler: grpc.UntypedHandleCall, request: unknown): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    (handler as grpc.handleUnaryCall<unknown, unknown>)(unaryCall(request), (err) =>
      resolve(err as grpc.ServiceError | null),
    ),
  );
}

/** Every key holds a value of `valueBytes`; writes wait until the test ends them. */
function executor(valueBytes: number): OperationExecutor {
  return {
    execute: (_op: Operation): Promise<Outcome> => new Promise(() => {}),
    localValueBytes: () => valueBytes,
  };
}

function service(valueBytes = 64 * 1024) {
  return cacheService({
    executor: executor(valueBytes),
    epoch: () => 1,
    logger: pino({ level: 'silent' }),
    defaultTimeoutMs: 60_000,
    limits: {
      maxBatchKeys: 8192,
      maxReplyBytes: 8 * MiB,
      maxRequestBytes: 64 * MiB,
      idleTimeoutMs: 300_000,
      maxClientCalls: 8192,
      maxFramesInFlight: 16,
      maxOutputBufferBytes: 256 * 1024,
      maxClientOutputBytes: 8 * MiB,
      maxClientInputBytes: 2 * MiB,
      maxValueBytes: 1 * MiB,
    },
  });
}

// A request refused whole was read whole first, and no budget counted it: the memory guard takes
// these bytes for a sign of a flood (LimitRefusals.refusedBytes), not for memory the node needs. A
// flood of GetMany past max_reply_bytes went uncounted, and the guard made the store evict keys.
describe('unary calls refused whole: their bytes, for the memory guard', () => {
  it('counts a GetMany refused past max_reply_bytes by the bytes of its keys', async () => {
    const cache = service();
    const keys = Array.from({ length: 4096 }, () => 'hot/key');
    const err = await callOf(cache.handlers.GetMany!, { keys, consistency: 0 });
    expect(err?.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(err?.details).to.include('max_reply_bytes');
    expect(cache.pipelines.refusals.refusedBytes).to.equal(4096 * ('hot/key'.length + 2));
  });

  it('counts a Set refused past max_client_input_bytes by its key and value', async () => {
    const cache = service();
    // A Set of 1.5 MiB waits, holding the budget; the next finds no room.
    void callOf(cache.handlers.Set!, { key: 'a', value: Buffer.alloc(1.5 * MiB) });
    const err = await callOf(cache.handlers.Set!, { key: 'c', value: Buffer.alloc(1 * MiB) });
    expect(err?.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(err?.details).to.include('max_client_input_bytes');
    expect(cache.pipelines.refusals.refusedBytes).to.be.within(1 * MiB, 1 * MiB + 64);
  });

  it('counts a SetMany refused past max_client_input_bytes by its items', async () => {
    const cache = service();
    void callOf(cache.handlers.Set!, { key: 'a', value: Buffer.alloc(2 * MiB - 4096) });
    const items = Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(256 * 1024) }));
    const err = await callOf(cache.handlers.SetMany!, { items });
    expect(err?.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(cache.pipelines.refusals.refusedBytes).to.be.at.least(1 * MiB);
  });
});
