import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClockWatch } from '../cluster/membership/clock-watch';
import type { Coordinator } from '../cluster/replication/coordinator';
import type { HintedHandoff } from '../cluster/recovery/handoff';
import type { HintStore } from '../cluster/recovery/hints';
import { createRegistry } from '../observability/metrics';
import type { CatchUpProgress } from '../cluster/recovery/catch-up';
import type { RebalanceProgress } from '../cluster/ring-change/rebalance';
import type { AntiEntropy } from '../cluster/recovery/anti-entropy';
import type { MemoryGuard } from './memory-guard';
import type { Store } from '../store/store';
import type { PeerInputRefusal } from '../store/validation';
import type { ReplicationCounters } from './peer-service';
import type { PipelineStreams } from './pipeline';
import { LIMIT_NAMES } from './request-limits';

/** The node's metrics, each read from its source at scrape time. */
export function nodeMetrics(
  nodeId: string,
  src: {
    store: Store;
    hints: HintStore;
    coordinator: Coordinator;
    handoff: HintedHandoff;
    pipelines: () => PipelineStreams | undefined;
    replicated: () => ReplicationCounters | undefined;
    rebalance: () => RebalanceProgress | undefined;
    catchUp: () => CatchUpProgress;
    /** ClusterView.ringUnconfirmed. */
    ringUnconfirmed: () => boolean;
    /** NodeCore.owedPeers: peers whose writes some of this node's copies may lack, not pulled from since. */
    owedPeers: () => ReadonlySet<string>;
    antiEntropy: AntiEntropy;
    memoryGuard: MemoryGuard;
    clock: ClockWatch;
  },
): Registry {
  const stat = (k: keyof ReturnType<Store['stats']>) => () => src.store.stats()[k];
  const registry = createRegistry(nodeId, [
    {
      name: 'ringcache_store_hits_total',
      help: 'Reads that found their key',
      type: 'counter',
      read: stat('hits'),
    },
    {
      name: 'ringcache_store_misses_total',
      help: 'Reads that did not find their key',
      type: 'counter',
      read: stat('misses'),
    },
    {
      name: 'ringcache_store_evictions_total',
      help: 'Entries evicted to stay within max_memory',
      type: 'counter',
      read: stat('evictions'),
    },
    {
      name: 'ringcache_store_expirations_total',
      help: 'Entries removed because their TTL passed',
      type: 'counter',
      read: stat('expirations'),
    },
    { name: 'ringcache_store_keys', help: 'Live keys held', type: 'gauge', read: stat('keys') },
    {
      name: 'ringcache_store_bytes',
      help: 'Bytes accounted against max_memory',
      type: 'gauge',
      read: stat('bytes'),
    },
    {
      name: 'ringcache_store_arena_bytes',
      help: 'Bytes of Buffers holding values, free cells included',
      type: 'gauge',
      read: stat('arenaBytes'),
    },
    {
      name: 'ringcache_store_table_bytes',
      help: 'Bytes of the slot table (one row per entry), grown in place',
      type: 'gauge',
      read: stat('tableBytes'),
    },
    { name: 'ringcache_store_max_bytes', help: 'limits.max_memory', type: 'gauge', read: stat('maxBytes') },
    {
      name: 'ringcache_store_tombstones',
      help: 'Delete tombstones held for their grace period',
      type: 'gauge',
      read: stat('tombstones'),
    },
    {
      name: 'ringcache_store_tombstone_bytes',
      help: 'Bytes charged to delete tombstones (limits.max_tombstone_bytes at most)',
      type: 'gauge',
      read: stat('tombstoneBytes'),
    },
    {
      name: 'ringcache_store_tombstones_shed_total',
      help: 'Delete tombstones dropped before their grace, or not stored, to stay within limits.max_tombstone_bytes',
      type: 'counter',
      read: stat('tombstonesShed'),
    },
    {
      name: 'ringcache_catching_up',
      help: '1 while this node pulls its data from its peers after a start (it serves reads through them)',
      type: 'gauge',
      read: () => (src.catchUp().done ? 0 : 1),
    },
    {
      name: 'ringcache_ring_unconfirmed',
      help: '1 while this node has heard no peer hold its ring for longer than failure detection takes, and some peer is alive: it counts its own copies in no quorum (it asks the other replicas)',
      type: 'gauge',
      read: () => (src.ringUnconfirmed() ? 1 : 0),
    },
    {
      name: 'ringcache_catch_up_owed_peers',
      help: "Peers whose writes some of this node's copies may lack (taken for dead in its catch-up, or owed by a peer it took keys from): those copies count in no quorum until it has pulled from them",
      type: 'gauge',
      read: () => src.owedPeers().size,
    },
    {
      name: 'ringcache_catch_up_records_total',
      help: 'Records received from peers by the catch-up of this start',
      type: 'counter',
      read: () => src.catchUp().received,
    },
    {
      name: 'ringcache_catch_up_bytes_total',
      help: 'Key and value bytes received from peers by the catch-up of this start',
      type: 'counter',
      read: () => src.catchUp().bytes,
    },
    {
      name: 'ringcache_versions_refused_total',
      help: 'Replica writes refused because their version was further ahead of this clock than max_clock_offset_ms',
      type: 'counter',
      read: stat('versionsRefused'),
    },
    {
      name: 'ringcache_hints_pending',
      help: 'Writes held for replicas that are down',
      type: 'gauge',
      read: () => src.hints.count,
    },
    {
      name: 'ringcache_hints_pending_bytes',
      help: 'Bytes of writes held as hints',
      type: 'gauge',
      read: () => src.hints.bytes,
    },
    {
      name: 'ringcache_hints_dropped_total',
      help: 'Hints refused because the hint store was full',
      type: 'counter',
      read: () => src.hints.dropped,
    },
    {
      name: 'ringcache_hints_expired_total',
      help: 'Hints dropped unsent: older than hints.max_age_ms, or for a member that left',
      type: 'counter',
      read: () => src.hints.expired,
    },
    {
      name: 'ringcache_anti_entropy_ranges_compared_total',
      help: 'Ring ranges whose digests anti-entropy compared with a peer',
      type: 'counter',
      read: () => src.antiEntropy.rangesCompared,
    },
    {
      name: 'ringcache_anti_entropy_ranges_differing_total',
      help: 'Compared ranges whose digests differed',
      type: 'counter',
      read: () => src.antiEntropy.rangesDiffering,
    },
    {
      name: 'ringcache_anti_entropy_scans_total',
      help: 'Passes over the store anti-entropy made: digest builds for a new ring, reads of differing ranges',
      type: 'counter',
      read: () => src.antiEntropy.scans,
    },
    {
      name: 'ringcache_anti_entropy_scans_saved_total',
      help: 'Anti-entropy comparisons, asked or answered, in which no range differed (no pass over the store)',
      type: 'counter',
      read: () => src.antiEntropy.scansSaved,
    },
    {
      name: 'ringcache_anti_entropy_keys_repaired_total',
      help: 'Keys anti-entropy brought up to date: pulled from a peer or pushed to it',
      type: 'counter',
      read: () => src.antiEntropy.keysPulled + src.antiEntropy.keysPushed,
    },
    {
      name: 'ringcache_anti_entropy_bytes_received_total',
      help: 'Bytes (keys and values) anti-entropy pulled from peers',
      type: 'counter',
      read: () => src.antiEntropy.bytesReceived,
    },
    {
      name: 'ringcache_anti_entropy_bytes_sent_total',
      help: 'Key and value bytes anti-entropy pushed to peers',
      type: 'counter',
      read: () => src.antiEntropy.bytesSent,
    },
    {
      name: 'ringcache_memory_guard_collections_total',
      help: 'Full collections the memory guard ran: RSS above its target, or garbage holding the store down',
      type: 'counter',
      read: () => src.memoryGuard.collections,
    },
    {
      name: 'ringcache_memory_guard_young_collections_total',
      help: "Young-generation collections the memory guard ran for the garbage of clients' large messages",
      type: 'counter',
      read: () => src.memoryGuard.scavenges,
    },
    {
      name: 'ringcache_memory_pressure_bytes',
      help: 'Bytes the store holds less than limits.max_memory, so that RSS stays within its target',
      type: 'gauge',
      read: () => src.memoryGuard.pressureBytes,
    },
    {
      name: 'ringcache_memory_rest_bytes',
      help: "What the process takes besides the store: V8's heap and external memory less the store, plus its native part at start",
      type: 'gauge',
      read: () => src.memoryGuard.restBytes,
    },
    {
      name: 'ringcache_memory_guard_flooded',
      help: "1 while clients flood the node (their bytes held with what their Pipeline frames hold past their streams' shares, the bytes of their requests refused whole, or connections opened at once pass an eighth of limits.max_client_output_bytes + max_client_input_bytes) or did within the guard's window: the store makes no more room meanwhile",
      type: 'gauge',
      read: () => (src.memoryGuard.flooded ? 1 : 0),
    },
    {
      name: 'ringcache_memory_allocator_kept_bytes',
      help: 'RSS above the target that the allocators keep of memory the process freed: not pressed on the store',
      type: 'gauge',
      read: () => src.memoryGuard.keptBytes,
    },
    {
      name: 'ringcache_hints_handed_off_total',
      help: 'Hints handed back to their replica',
      type: 'counter',
      read: () => src.handoff.handedOff,
    },
    {
      name: 'ringcache_forwarded_operations_total',
      help: 'Operations forwarded because this node is not a replica of the key (stale client ring)',
      type: 'counter',
      read: () => src.coordinator.forwardedCount,
    },
    {
      name: 'ringcache_pipeline_frames_total',
      help: 'Pipeline frames answered (operations / frames = how well clients batch)',
      type: 'counter',
      read: () => src.pipelines()?.frames ?? 0,
    },
    {
      name: 'ringcache_pipeline_operations_total',
      help: 'Operations answered in Pipeline frames',
      type: 'counter',
      read: () => src.pipelines()?.operations ?? 0,
    },
    {
      name: 'ringcache_client_output_bytes',
      help: "Bytes held for clients' replies and streams now (limits.max_client_output_bytes)",
      type: 'gauge',
      read: () => src.pipelines()?.output.bytes ?? 0,
    },
    {
      name: 'ringcache_client_input_bytes',
      help: "Bytes of clients' requests held now, from their first bytes until answered (what stalled ones received included), and of their copies to other replicas until those answer (limits.max_client_input_bytes)",
      type: 'gauge',
      read: () => src.pipelines()?.input.heldBytes ?? 0,
    },
    {
      name: 'ringcache_replicate_frames_total',
      help: 'Replicate frames received from peers (records / frames = how well replication batches)',
      type: 'counter',
      read: () => src.replicated()?.frames ?? 0,
    },
    {
      name: 'ringcache_replicate_records_total',
      help: 'Replica records received from peers in Replicate frames',
      type: 'counter',
      read: () => src.replicated()?.records ?? 0,
    },
    {
      name: 'ringcache_replica_writes_refused_late_total',
      help: 'Replica writes refused because they were read after their sender had given up on them (a node paused with them in its socket)',
      type: 'counter',
      read: () => src.replicated()?.refusedLate ?? 0,
    },
    {
      name: 'ringcache_rebalance_epoch',
      help: 'Ring epoch of the latest rebalance (0: none since start)',
      type: 'gauge',
      read: () => src.rebalance()?.epoch ?? 0,
    },
    {
      name: 'ringcache_rebalance_records_scanned',
      help: 'Records the latest rebalance has looked at so far',
      type: 'gauge',
      read: () => src.rebalance()?.scanned ?? 0,
    },
    {
      name: 'ringcache_rebalance_records_sent',
      help: 'Records the latest rebalance sent to their new replicas',
      type: 'gauge',
      read: () => src.rebalance()?.sent ?? 0,
    },
    {
      name: 'ringcache_rebalance_records_released',
      help: 'Copies of keys this node no longer replicates that the latest rebalance dropped, once their new replicas held them',
      type: 'gauge',
      read: () => src.rebalance()?.released ?? 0,
    },
    {
      name: 'ringcache_rebalance_running',
      help: '1 while a rebalance is streaming records',
      type: 'gauge',
      read: () => (src.rebalance() && !src.rebalance()!.done ? 1 : 0),
    },
  ]);
  refusedPeerInputs(registry, src.store);
  clockOffsets(registry, src.clock);
  limitRefusals(registry, src.pipelines);
  // The Cache service starts before the registry is made (CacheNode.start), so it is there to read.
  src.pipelines()?.requests.register(registry);
  return registry;
}

/**
 * ringcache_clock_offset_seconds{peer}: each peer's measured clock offset (positive: its clock is ahead
 * of this node's), and ringcache_clock_in_bounds: 0 while this node refuses writes for its clock.
 */
function clockOffsets(registry: Registry, clock: ClockWatch): void {
  new Gauge({
    name: 'ringcache_clock_offset_seconds',
    help: "Each peer's clock minus this node's, measured from gossip pings (within half their round trip)",
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of clock.offsets.peers()) {
        const e = clock.offsets.estimate(peer);
        if (e) this.set({ peer }, e.offsetMs / 1000);
      }
    },
  });
  new Gauge({
    name: 'ringcache_clock_in_bounds',
    help: '1 while this node takes writes; 0 while its clock is further than half of cluster.max_clock_offset_ms from most live members',
    registers: [registry],
    collect() {
      this.set(clock.inBounds ? 1 : 0);
    },
  });
}

/** ringcache_limit_refusals_total{limit}: requests refused whole by a limit (request-limits.ts), from 0. */
function limitRefusals(registry: Registry, pipelines: () => PipelineStreams | undefined): void {
  new Counter({
    name: 'ringcache_limit_refusals_total',
    help: 'Requests, streams and connections refused because they went past a limit of cluster.yml (limits.<limit>)',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      this.reset();
      const refusals = pipelines()?.refusals;
      for (const limit of LIMIT_NAMES) this.inc({ limit }, refusals?.count(limit) ?? 0);
    },
  });
}

/** Every reason a peer input was refused (store/validation.ts PeerInputRefusal), exported from 0. */
const REFUSAL_REASONS = Object.keys({
  incarnation: true,
  version_ahead: true,
  tombstone_expiry: true,
  value_expiry: true,
  ring_epoch: true,
} satisfies Record<PeerInputRefusal, true>) as PeerInputRefusal[];

/** ringcache_peer_inputs_refused_total{reason}: a labelled counter, read from the store's tally at scrape time. */
function refusedPeerInputs(registry: Registry, store: Store): void {
  new Counter({
    name: 'ringcache_peer_inputs_refused_total',
    help: 'Inputs from peers refused as out of bounds (they changed nothing), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of REFUSAL_REASONS) this.inc({ reason }, store.refusedInputs.get(reason));
    },
  });
}
