import fc from 'fast-check';
import type { Consistency } from '../../src/cluster/replication/operation';
import { Ring } from '../../src/ring/ring';
import type { HistoryKind } from './history';
import type { SimStep } from './schedule';

/**
 * What the scenarios of schedule.ts and nemesis-mix.ts are made of: the keys, a mixed client
 * workload, node ids and the ring's replicas of a key.
 */

export const REGISTERS = ['r0', 'r1', 'r2', 'r3'];
export const COUNTERS = ['c0', 'c1'];
/** Keys that flushes of FLUSH_PREFIX delete, besides sets, deletes and gets; no other key starts with it. */
export const FLUSH_PREFIX = 'f';
export const FLUSHED = ['f0', 'f1'];
/** Keys of the values a `fill` step writes to press a node's memory; no client reads them. */
export const FILLER_PREFIX = 'z';

const consistency = fc.constantFrom<Consistency>('default', 'one', 'quorum', 'all');

/** Client operations of a mixed workload; read-modify-writes go to the key's coordinator (as the SDK sends them) unless `rmwAnywhere`. */
export function operations(
  nodes: string[],
  durationMs: number,
  opts: {
    count: number;
    rmwAnywhere?: boolean;
    /** Consistency of reads. Default: any. */
    reads?: fc.Arbitrary<Consistency>;
    /** Consistency of writes to registers. Default: any. */
    writes?: fc.Arbitrary<Consistency>;
    /** Increments on the counter keys too. Default true. */
    counters?: boolean;
    /** Kinds of register operations, weighted by repetition. Default: sets, deletes, gets and cas. */
    registerKinds?: HistoryKind[];
    /**
     * Sets, cas and touches with a time to live (none for half of them, else 100-800 ms: expiring
     * within the run), and sets with a condition (ifAbsent, ifPresent) for two in five. Default false.
     */
    expiring?: boolean;
    /**
     * getOrSet's lease, instead of `expiring`: three sets in five are ifAbsent with a time to live
     * of 100-800 ms (taking the lease), some retried through other nodes with one request id, beside
     * plain sets (the fill, half of them with a time to live) and deletes (giving the lease back).
     * 'two-coordinators': every ifAbsent, and its retries, is coordinated by the node it is sent to.
     */
    leases?: boolean | 'two-coordinators';
  },
): fc.Arbitrary<SimStep[]> {
  const target = fc.constantFrom('coordinator', ...nodes);
  const at = fc.integer({ min: 0, max: durationMs });
  const registerFields = {
    atMs: at,
    type: fc.constant('op' as const),
    kind: fc.constantFrom<HistoryKind>(
      ...(opts.registerKinds ?? ['set', 'set', 'delete', 'get', 'get', 'cas']),
    ),
    key: fc.constantFrom(...REGISTERS),
    node: target,
    read: opts.reads ?? consistency,
    write: opts.writes ?? consistency,
  };
  // A record of its own: the fields above keep drawing what they drew before for other scenarios.
  const register = (
    opts.leases
      ? fc
          .record({
            ...registerFields,
            lease: fc.constantFrom(false, false, true, true, true),
            leaseTtl: fc.integer({ min: 100, max: 800 }),
            ttl: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 800 })),
            // Retried through other nodes, which forward it to the key's coordinator (as the SDK's
            // failover does), or, with `leases: 'two-coordinators'`, coordinated where it lands.
            copies: fc.constantFrom(0, 0, 1, 2),
            retryAfterMs: fc.integer({ min: 0, max: 60 }),
          })
          .map(({ lease, leaseTtl, ttl, copies, retryAfterMs, ...op }) =>
            op.kind !== 'set'
              ? op
              : lease
                ? {
                    ...op,
                    mode: 'ifAbsent' as const,
                    ttlMs: leaseTtl,
                    ...(copies > 0 ? { copies, retryAfterMs } : {}),
                    ...(opts.leases === 'two-coordinators' ? { forwarded: true } : {}),
                  }
                : { ...op, ttlMs: ttl },
          )
      : opts.expiring
        ? fc
            .record({
              ...registerFields,
              ttl: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 800 })),
              condition: fc.constantFrom(
                undefined,
                undefined,
                undefined,
                'ifAbsent' as const,
                'ifPresent' as const,
              ),
            })
            .map(({ ttl, condition, ...op }) => ({
              ...op,
              ...(op.kind === 'set' || op.kind === 'cas' || op.kind === 'touch' ? { ttlMs: ttl } : {}),
              ...(op.kind === 'set' && condition ? { mode: condition } : {}),
            }))
        : fc.record(registerFields)
  ).map(({ read, write, ...op }) => ({ ...op, consistency: op.kind === 'get' ? read : write }));
  const counter = fc.record({
    atMs: at,
    type: fc.constant('op' as const),
    kind: fc.constant<HistoryKind>('incr'),
    key: fc.constantFrom(...COUNTERS),
    node: opts.rmwAnywhere ? target : fc.constant('coordinator'),
    consistency: fc.constantFrom<Consistency>('default', 'quorum'),
    delta: fc.integer({ min: 1, max: 5 }),
  });
  // Unbiased: lengths spread over [1, count] instead of favouring tiny histories; shrinking may still
  // cut a failing one down to a single operation.
  return fc
    .noBias(
      fc.array(
        opts.counters === false
          ? register
          : fc.oneof({ arbitrary: register, weight: 3 }, { arbitrary: counter, weight: 1 }),
        {
          minLength: 1,
          maxLength: opts.count,
          size: 'max',
        },
      ),
    )
    .map((ops) =>
      ops.map((op) =>
        !opts.rmwAnywhere && isReadModifyWrite(op) ? { ...op, node: 'coordinator' } : (op as SimStep),
      ),
    );
}

/** Operations a key's coordinator decides (the others forward them): cas, touch, a conditional set. */
function isReadModifyWrite(op: { kind: HistoryKind; mode?: string }): boolean {
  return op.kind === 'cas' || op.kind === 'touch' || (op.kind === 'set' && op.mode !== undefined);
}

/** The key's preference list on the simulator's ring (16 vnodes, as sim-cluster.ts builds it). */
export function replicasOf(key: string, nodes: string[], factor: number): readonly string[] {
  return new Ring(nodes, { vnodes: 16 }).preferenceList(key, factor);
}

export const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);
export const byTime = (steps: SimStep[]) => [...steps].sort((a, b) => a.atMs - b.atMs);
