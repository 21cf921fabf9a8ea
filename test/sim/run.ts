import { createHash } from 'node:crypto';
import { requiredReplicas } from '../../src/cluster/replication/quorum';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { RingCacheError, type ErrorCode } from '../../src/errors';
import type { Version } from '../../src/store/version';
import { checkAll } from './checkers';
import type { FinalState, HistoryEntry, OutcomeStatus, ReplicaCopy, Violation } from './history';
import { COUNTERS, FLUSHED, REGISTERS, type SimSchedule, type SimStep } from './schedule';
import { SIM_MAX_CLOCK_OFFSET_MS, SimCluster } from './sim-cluster';
import { FILLER_PREFIX } from './workload';

export interface SimResult {
  history: HistoryEntry[];
  final: FinalState;
  violations: Violation[];
  /** Virtual-time events run and messages sent: with the history, what two runs must agree on. */
  eventsRun: number;
  messages: number;
  /** sha256 of the history and the counters above: equal for two runs of one schedule and seed. */
  fingerprint: string;
}

/**
 * Virtual ms before the first step (gossip settles, catch-up ends; steps' atMs count from there) and
 * after the heal (hints, catch-up).
 */
export const WARMUP_MS = 1000;
const QUIET_MS = 15_000;
/** The client's budget per call, and the extra it waits before calling the outcome unknown. */
const CALL_TIMEOUT_MS = 2000;
const CLIENT_GRACE_MS = 500;

/** Errors that say the operation did not take effect; any other leaves its outcome unknown. */
const NOT_APPLIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_ARGUMENT',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
  'VERSION_CONFLICT',
  'NOT_AN_INTEGER',
  'NOT_FOUND',
  'OUT_OF_MEMORY',
]);

/** Runs one schedule on a fresh simulated cluster and judges its history. Deterministic in (schedule, seed). */
export async function runSchedule(
  schedule: SimSchedule,
  seed: number,
  /** Shown the run's cluster (a test that checks what stays reachable after the run). */
  onCluster?: (cluster: SimCluster) => void,
): Promise<SimResult> {
  const cluster = new SimCluster({ seed, ...schedule.cluster });
  onCluster?.(cluster);
  const { time } = cluster;
  const history: HistoryEntry[] = [];
  const lastSeen = new Map<string, Version>();
  const pending = new Set<Promise<void>>();
  const ringChanges: NonNullable<FinalState['ringChanges']> = [];
  const crashes: NonNullable<FinalState['crashes']> = [];
  cluster.startAll();
  await time.runUntil(time.now() + WARMUP_MS);
  const start = time.now();
  for (const step of schedule.steps) {
    time.at(start + step.atMs, '<world>', () => apply(step));
  }
  await time.runUntil(start + schedule.durationMs);
  cluster.healAll();
  await time.runUntil(time.now() + QUIET_MS + CALL_TIMEOUT_MS);

  const keys = [...REGISTERS, ...COUNTERS, ...FLUSHED].filter((k) => history.some((e) => e.key === k));
  const replicas = snapshotReplicas(cluster, keys);
  const reads = new Map<string, { found: boolean; value?: string; version?: Version }>();
  const finalReads = keys.map((key) =>
    callNode(cluster, coordinatorOf(cluster, key), { kind: 'get', key, consistency: 'quorum' }).then(
      (outcome) => {
        if (outcome instanceof RingCacheError || outcome.kind !== 'get') return;
        const e = outcome.entry;
        reads.set(key, e ? { found: true, value: e.value.toString(), version: e.version } : { found: false });
      },
    ),
  );
  // Calls settle only as virtual time runs: run it past their deadline, then they have all settled.
  await time.runUntil(time.now() + CALL_TIMEOUT_MS + CLIENT_GRACE_MS + 10);
  await Promise.all(finalReads);
  const counters = new Map<string, number>();
  for (const key of COUNTERS) counters.set(key, Number(reads.get(key)?.value ?? 0));
  const rings = cluster
    .ids()
    .filter((id) => cluster.isUp(id))
    .map((node) => {
      const t = cluster.core(node)!.topology;
      return { node, epoch: t.epoch, digest: t.digest, members: [...t.ring.nodeIds].sort() };
    });
  // Two nodes' clocks can be as far apart as the highest skew and the lowest (or none) of the run.
  const skews = schedule.steps.flatMap((s) => (s.type === 'skew' ? [s.skewMs] : []));
  const clockSlackMs = Math.max(0, ...skews) - Math.min(0, ...skews);
  const clockBoundMs = schedule.cluster.maxClockOffsetMs ?? SIM_MAX_CLOCK_OFFSET_MS;
  const { evictions, droppedTombstones, copies } = cluster;
  const final: FinalState = {
    ...{ reads, replicas, counters, rings, ringChanges, clockSlackMs, clockBoundMs, crashes },
    ...{ evictions, droppedTombstones, copies },
  };

  const violations = checkAll(history, final);
  let stopped = false;
  void cluster.stopAll().then(() => (stopped = true));
  await time.runUntil(time.now() + 5000);
  if (!stopped) {
    violations.push({ checker: 'cleanStop', key: '', message: 'a node core did not finish stopping' });
  }
  const leftovers = cluster.leftovers();
  if (leftovers.length > 0) {
    violations.push({
      checker: 'cleanStop',
      key: '',
      message: `stopped cores left timers or tasks: ${leftovers.join(', ')}`,
    });
  }
  const messages = cluster.net.sent;
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ history, eventsRun: time.eventsRun, messages, lost: cluster.net.lost }))
    .digest('hex');
  cluster.dispose();
  return { history, final, violations, eventsRun: time.eventsRun, messages, fingerprint };

  function apply(step: SimStep): void {
    switch (step.type) {
      case 'op':
        return invoke(step);
      case 'crash': {
        crashes.push({ node: step.node, atMs: time.now() });
        return cluster.crash(step.node);
      }
      case 'restart':
        return cluster.restart(step.node);
      case 'pause':
        return cluster.pause(step.node);
      case 'resume':
        return cluster.resume(step.node);
      case 'cut':
        return cluster.net.cut(step.from, step.to);
      case 'isolate':
        for (const other of cluster.ids()) {
          if (other === step.node) continue;
          cluster.net.cut(step.node, other);
          cluster.net.cut(other, step.node);
        }
        return;
      case 'heal':
        return cluster.net.healAll();
      case 'link':
        return cluster.net.setFault(step.from, step.to, step);
      case 'skew':
        return cluster.skew(step.node, step.skewMs);
      case 'flush':
        return flush(step);
      case 'fill':
        return fill(step);
      case 'join':
      case 'leave': {
        const change = { kind: step.type, node: step.node, acknowledged: false };
        ringChanges.push(change);
        const done =
          step.type === 'join' ? cluster.join(step.node, step.via) : cluster.leave(step.node, step.via);
        return track(done.then((outcome) => (change.acknowledged = outcome === undefined)));
      }
    }
  }

  /** Other keys' values straight into one node's store, as if it held them for their writes. */
  function fill(step: Extract<SimStep, { type: 'fill' }>): void {
    const store = cluster.core(step.node)?.store;
    if (!store) return;
    for (let i = 0; i < step.count; i++) {
      store.set(`${FILLER_PREFIX}${step.node}-${time.now()}-${i}`, Buffer.alloc(step.bytes, i), 0);
    }
  }

  /** Through the node's core, as Cluster/Flush from a client: acknowledged, or unknown (some members flushed). */
  function flush(step: Extract<SimStep, { type: 'flush' }>): void {
    const entry: HistoryEntry = {
      id: history.length + 1,
      kind: 'flush',
      key: step.prefix,
      node: step.node,
      required: 0,
      factor: schedule.cluster.factor,
      invokedAtMs: time.now(),
      status: 'unknown',
    };
    history.push(entry);
    const core = cluster.core(step.node);
    if (!core) {
      entry.status = 'failed';
      entry.completedAtMs = time.now();
      return;
    }
    track(
      core.flushCluster(step.prefix).then(
        () => {
          entry.status = 'ok';
          entry.completedAtMs = time.now();
        },
        (err: unknown) => {
          entry.error = err instanceof RingCacheError ? err.code : String(err);
          entry.completedAtMs = time.now();
        },
      ),
    );
  }

  function track(p: Promise<unknown>): void {
    const done = p.then(() => undefined);
    pending.add(done);
    void done.finally(() => pending.delete(done));
  }

  function invoke(step: Extract<SimStep, { type: 'op' }>): void {
    const factor = schedule.cluster.factor;
    const id = history.length + 1;
    const node =
      step.node === 'coordinator'
        ? coordinatorOf(cluster, step.key)
        : step.node === 'non-replica'
          ? nonReplicaOf(cluster, step.key)
          : step.node;
    const rep = {
      factor,
      writeQuorum: schedule.cluster.writeQuorum,
      readQuorum: schedule.cluster.readQuorum,
    };
    const entry: HistoryEntry = {
      id,
      kind: step.kind,
      key: step.key,
      node,
      // A read-modify-write waits for at least the configured W, whatever its consistency asks.
      required:
        step.kind === 'cas' || step.kind === 'incr' || step.kind === 'touch' || step.mode !== undefined
          ? Math.max(rep.writeQuorum, requiredReplicas(step.consistency, 'write', rep))
          : requiredReplicas(step.consistency, step.kind === 'get' ? 'read' : 'write', rep),
      factor,
      invokedAtMs: time.now(),
      status: 'unknown',
    };
    history.push(entry);
    const value = `v${id}`;
    let op: Operation;
    switch (step.kind) {
      case 'get':
        op = { kind: 'get', key: step.key, consistency: step.consistency };
        break;
      case 'set':
        entry.value = value;
        entry.ttlMs = step.ttlMs;
        entry.mode = step.mode;
        op = {
          kind: 'set',
          key: step.key,
          value: Buffer.from(value),
          flags: 1,
          ttlMs: step.ttlMs ?? 0,
          mode: step.mode ?? 'always',
          consistency: step.consistency,
          ...(step.copies && step.mode ? { requestId: `client-${id}` } : {}),
        };
        break;
      case 'touch':
        entry.ttlMs = step.ttlMs;
        op = { kind: 'touch', key: step.key, ttlMs: step.ttlMs ?? 0, consistency: step.consistency };
        break;
      case 'delete':
        op = { kind: 'delete', key: step.key, consistency: step.consistency };
        break;
      case 'incr':
        entry.delta = step.delta ?? 1;
        op = {
          kind: 'incr',
          key: step.key,
          delta: entry.delta,
          initial: 0,
          ttlMs: 0,
          consistency: step.consistency,
          ...(step.copies ? { requestId: `client-${id}` } : {}),
        };
        break;
      case 'cas':
        entry.value = value;
        entry.expected = lastSeen.get(step.key) ?? { timestamp: 1, node: 'nobody' };
        op = {
          kind: 'cas',
          key: step.key,
          expected: entry.expected,
          value: Buffer.from(value),
          flags: 1,
          ttlMs: step.ttlMs ?? 0,
          consistency: step.consistency,
        };
        entry.ttlMs = step.ttlMs;
        break;
      case 'flush':
        throw new Error("a flush is a schedule step of its own ({ type: 'flush' })");
    }
    const forwarded = step.forwarded ?? false;
    if (!step.copies) {
      void callNode(cluster, node, op, forwarded).then((outcome) => record(entry, outcome));
      return;
    }
    // The client's retries: the first outcome that is not an error answers the call.
    const others = cluster
      .ids()
      .filter((other) => other !== node)
      .slice(0, step.copies);
    const copies = [
      callNode(cluster, node, op, forwarded),
      ...others.map(
        (other) =>
          new Promise<Outcome>((resolve) =>
            time.at(time.now() + (step.retryAfterMs ?? 0), '<world>', () => {
              void callNode(cluster, other, op, forwarded).then(resolve);
            }),
          ),
      ),
    ];
    // Acknowledged if any copy was; else unknown if any copy may have applied it.
    void Promise.all(copies).then((outcomes) =>
      record(
        entry,
        outcomes.find((o) => !(o instanceof RingCacheError)) ??
          outcomes.find((o) => statusOf(o as RingCacheError) === 'unknown') ??
          outcomes[0]!,
      ),
    );
  }

  function record(entry: HistoryEntry, outcome: Outcome): void {
    entry.completedAtMs = time.now();
    if (cluster.isUp(entry.node)) entry.ringEpoch = cluster.core(entry.node)!.topology.epoch;
    if (outcome instanceof RingCacheError) {
      entry.status = statusOf(outcome);
      entry.error = outcome.code;
      return;
    }
    entry.status = 'ok';
    switch (outcome.kind) {
      case 'get':
        entry.found = outcome.entry !== undefined;
        if (outcome.entry) {
          entry.readValue = outcome.entry.value.toString();
          entry.readVersion = outcome.entry.version;
          lastSeen.set(entry.key, outcome.entry.version);
        }
        return;
      case 'set':
        entry.stored = outcome.stored;
        entry.version = outcome.version;
        if (outcome.version) lastSeen.set(entry.key, outcome.version);
        return;
      case 'delete':
        entry.version = outcome.version;
        return;
      case 'incr':
        entry.counter = outcome.value;
        entry.version = outcome.version;
        return;
      case 'cas':
        entry.version = outcome.version;
        lastSeen.set(entry.key, outcome.version);
        return;
      case 'touch':
        entry.found = outcome.found;
        return;
    }
  }
}

function statusOf(err: RingCacheError): OutcomeStatus {
  return NOT_APPLIED.has(err.code) ? 'failed' : 'unknown';
}

/** A client call: over the simulated network to `node`, given up (unknown) a little after its deadline. */
function callNode(cluster: SimCluster, node: string, op: Operation, forwarded = false): Promise<Outcome> {
  const { net, time } = cluster;
  return net.call<Outcome>(
    'client',
    node,
    time.now() + CALL_TIMEOUT_MS + CLIENT_GRACE_MS,
    (e) => e.execute(op, { forwarded, deadlineMs: net.nowOf(node) + CALL_TIMEOUT_MS }),
    (err) => err,
  );
}

/** Where the SDK sends a key: the first replica of its preference list that is up. */
function coordinatorOf(cluster: SimCluster, key: string): string {
  const up = cluster.ids().find((id) => cluster.isUp(id));
  const core = up === undefined ? undefined : cluster.core(up);
  if (!core) return 'n1';
  const list = core.topology.ring.preferenceList(key, cluster.options.factor);
  return list.find((id) => cluster.isUp(id)) ?? list[0] ?? 'n1';
}

/** A node that holds no copy of the key and so forwards it (where N < nodes); else the coordinator. */
function nonReplicaOf(cluster: SimCluster, key: string): string {
  const ring = cluster.core(cluster.ids().find((id) => cluster.isUp(id)) ?? 'n1')?.topology.ring;
  const list = ring?.preferenceList(key, cluster.options.factor) ?? [];
  return cluster.ids().find((id) => !list.includes(id) && cluster.isUp(id)) ?? coordinatorOf(cluster, key);
}

function snapshotReplicas(cluster: SimCluster, keys: string[]): Map<string, ReplicaCopy[]> {
  const out = new Map<string, ReplicaCopy[]>();
  const up = cluster.ids().find((id) => cluster.isUp(id));
  const ring = up === undefined ? undefined : cluster.core(up)?.topology.ring;
  if (!ring) return out;
  for (const key of keys) {
    out.set(
      key,
      ring.preferenceList(key, cluster.options.factor).map((node) => {
        const record = cluster.core(node)?.store.readRecord(key);
        if (!record) return { node };
        // Past its expiry a value is a tombstone at its version, as the store turns it when it
        // next touches it: whether it did yet is no difference between replicas.
        const expired = record.expiresAtMs !== 0 && record.expiresAtMs <= cluster.net.nowOf(node);
        return {
          node,
          version: record.version,
          tombstone: record.tombstone || expired,
          value: record.value.toString(),
        };
      }),
    );
  }
  return out;
}
