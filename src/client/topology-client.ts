import * as grpc from '@grpc/grpc-js';
import { RingCacheError } from '../errors';
import { errorFromWire } from '../proto/status-codes';
import { loadServices } from '../proto/load';
import {
  MemberStateWire,
  METADATA,
  type FlushRequestMsg,
  type FlushResponseMsg,
  type TopologyResponseMsg,
} from '../proto/messages';
import { Ring } from '../ring/ring';
import { mergeRings, relationOf, type RingState } from '../ring/ring-state';
import { withClusterToken } from '../transport/cluster-token';
import { channelCredentials, withTls, type TlsOptions } from '../transport/tls';
import { withUserToken } from '../transport/user-token';
import { CHANNEL_OPTIONS } from '../transport/pipeline-connection';

export type MemberStateName = 'alive' | 'suspect' | 'dead' | 'left' | 'unknown';

export interface ClientMember {
  id: string;
  address: string;
  state: MemberStateName;
}

/** What the SDK routes with: the ring of an epoch and each member's state. */
/** The cluster as a client sees it (`RingCache.cluster`, the `topology` event). */
export interface ClusterInfo {
  readonly epoch: number;
  readonly clusterName: string;
  readonly members: ReadonlyMap<string, ClientMember>;
  readonly replication: { factor: number; writeQuorum: number; readQuorum: number };
  /** Node that answered. */
  readonly source: string;
}

/** ClusterInfo with the ring it routes by. */
export interface ClusterMap extends ClusterInfo {
  epoch: number;
  ring: Ring;
  /** The ring's membership with its change epochs, to reconcile maps from different nodes. */
  ringState: RingState;
}

const stateName: Record<number, MemberStateName> = {
  [MemberStateWire.ALIVE]: 'alive',
  [MemberStateWire.SUSPECT]: 'suspect',
  [MemberStateWire.DEAD]: 'dead',
  [MemberStateWire.LEFT]: 'left',
};

type TopologyStub = grpc.Client & {
  Topology(
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: TopologyResponseMsg) => void,
  ): void;
  WatchTopology(req: object, md?: grpc.Metadata): grpc.ClientReadableStream<TopologyResponseMsg>;
  Flush(
    req: FlushRequestMsg,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: FlushResponseMsg) => void,
  ): void;
};

/** Builds the client's map from a Topology message; refuses answers it could not route with. */
export function clusterMapOf(msg: TopologyResponseMsg, previous?: ClusterMap): ClusterMap {
  if (msg.hashAlgorithm !== 'md5') {
    throw new RingCacheError(
      'INTERNAL',
      `node ${msg.answeredBy} uses ring hash '${msg.hashAlgorithm}'; this SDK speaks md5 (ketama)`,
    );
  }
  if (msg.members.length === 0 || !msg.replication) {
    throw new RingCacheError(
      'INTERNAL',
      `node ${msg.answeredBy} sent a topology without members or replication settings`,
    );
  }
  const members = new Map<string, ClientMember>();
  for (const m of msg.members)
    members.set(m.id, { id: m.id, address: m.address, state: stateName[m.state] ?? 'unknown' });
  const ringState: RingState = {
    epoch: msg.epoch,
    members: msg.members.map((m) => ({
      id: m.id,
      address: m.address,
      http: m.httpAddress,
      since: m.sinceEpoch || 1,
    })),
    departed: (msg.departed ?? []).map((d) => ({ id: d.id, since: d.epoch })),
  };
  return {
    epoch: msg.epoch,
    clusterName: msg.clusterName,
    ring: ringOf([...members.keys()], msg.vnodes, previous),
    members,
    replication: msg.replication,
    source: msg.answeredBy,
    ringState,
  };
}

/** Same members and vnodes as `previous`: its ring (and its lookup caches); else a new one. */
function ringOf(ids: string[], vnodes: number, previous: ClusterMap | undefined): Ring {
  const same =
    previous &&
    previous.ring.vnodes === vnodes &&
    previous.ring.nodeIds.length === ids.length &&
    ids.every((id) => previous.members.has(id));
  return same ? previous.ring : new Ring(ids, { vnodes });
}

/**
 * The map to route with once `received` arrives while `held` is in use, by the rule the nodes
 * follow (ring-state.ts): a newer ring replaces the held one, the same ring updates member states,
 * an older one is ignored, and two rings changed apart (a partition, one node on each side) merge
 * into the ring the nodes themselves will agree on, so the client does not flip between them.
 */
export function reconcileMaps(held: ClusterMap, received: ClusterMap): ClusterMap {
  const relation = relationOf(held.ringState, received.ringState);
  if (relation === 'newer' || relation === 'same') return received;
  if (relation === 'older') return held;
  const merged = mergeRings(held.ringState, received.ringState);
  const members = new Map<string, ClientMember>();
  for (const m of merged.members) {
    const known = received.members.get(m.id) ?? held.members.get(m.id);
    members.set(m.id, { id: m.id, address: m.address, state: known?.state ?? 'alive' });
  }
  return {
    ...received,
    epoch: merged.epoch,
    ring: ringOf([...members.keys()], received.ring.vnodes, received),
    members,
    ringState: merged,
  };
}

/**
 * Asks nodes for the topology: seeds first, then every member already known. Stubs are kept per
 * address so refreshes reuse connections.
 */
export class TopologyClient {
  readonly #stubs = new Map<string, TopologyStub>();
  readonly #options: grpc.ClientOptions;
  readonly #credentials: grpc.ChannelCredentials;
  /** Set by close(): no connection is opened after it (a fetch under way stops at its next seed). */
  #closed = false;

  /**
   * `clusterToken`: sent with every Cluster call (admin calls need it when the cluster has one).
   * `tls`: TLS to the nodes; plaintext when unset. `userToken`: a user's token (cluster.yml `auth`).
   */
  constructor(clusterToken?: string, tls?: TlsOptions, userToken?: string) {
    this.#options = withTls(withUserToken(withClusterToken(CHANNEL_OPTIONS, clusterToken), userToken), tls);
    this.#credentials = channelCredentials(tls);
  }

  stub(address: string): TopologyStub {
    if (this.#closed) throw new RingCacheError('UNAVAILABLE', 'this RingCache is closed');
    let s = this.#stubs.get(address);
    if (!s) {
      const { Cluster } = loadServices();
      s = new Cluster(address, this.#credentials, this.#options) as unknown as TopologyStub;
      this.#stubs.set(address, s);
    }
    return s;
  }

  /** The first answer from `addresses`, tried in order within `timeoutMs` in all; the error lists each failure. */
  async fetch(addresses: string[], timeoutMs: number, previous?: ClusterMap): Promise<ClusterMap> {
    const deadline = Date.now() + timeoutMs;
    const tried: string[] = [];
    /** Seeds that refused this client's wire version (FAILED_PRECONDITION: Topology has no other). */
    let wireRefusals = 0;
    for (const [i, address] of addresses.entries()) {
      if (this.#closed) throw new RingCacheError('UNAVAILABLE', 'this RingCache is closed');
      const left = deadline - Date.now();
      if (left <= 0) {
        tried.push(`${address}: not tried, deadline passed`);
        continue;
      }
      try {
        // A share of what is left, so one silent seed cannot use up the whole budget.
        const share = Math.min(left, Math.max(250, left / (addresses.length - i)));
        const msg = await this.#topology(address, share);
        return clusterMapOf(msg, previous);
      } catch (err) {
        // Refused for want of a credential (or of a role): every node of the cluster would say so.
        const code = (err as Partial<grpc.ServiceError>).code;
        if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED)
          throw errorFromWire(code, `${address}: ${describe(err)}`, undefined);
        if (code === grpc.status.FAILED_PRECONDITION) wireRefusals++;
        tried.push(`${address}: ${describe(err)}`);
      }
    }
    // Every seed speaks a release this one cannot read (an upgrade skipped one): not a node down.
    if (wireRefusals > 0 && wireRefusals === addresses.length)
      throw new RingCacheError(
        'WIRE_INCOMPATIBLE',
        `no seed speaks a wire version this client reads: ${tried.join('; ')}`,
      );
    throw new RingCacheError(
      'UNAVAILABLE',
      `no ringcache node answered within ${timeoutMs} ms; tried ${tried.join('; ')}`,
    );
  }

  /**
   * Cluster/Flush through the first of `addresses` that answers (confirmed: the caller asked for it).
   * An answer that is an error (a member did not flush, no token) is the result, not a reason to ask
   * the next node.
   */
  async flush(addresses: string[], prefix: string, timeoutMs: number): Promise<FlushResponseMsg> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (const address of addresses) {
      try {
        return await new Promise<FlushResponseMsg>((resolve, reject) =>
          this.stub(address).Flush(
            { prefix, confirm: true },
            new grpc.Metadata(),
            { deadline },
            (err, res) => (err || !res ? reject(err ?? new Error('empty answer')) : resolve(res)),
          ),
        );
      } catch (err) {
        last = err;
        // Only a node that could not be reached sends us to the next; a node's own answer (it names
        // its error in metadata) is the result.
        const answered = (err as grpc.ServiceError).metadata?.get(METADATA.errorCode).length;
        if (answered || (err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || Date.now() >= deadline)
          break;
      }
    }
    throw errorOf(last);
  }

  watch(address: string): grpc.ClientReadableStream<TopologyResponseMsg> {
    return this.stub(address).WatchTopology({});
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#stubs.values()) s.close();
    this.#stubs.clear();
  }

  #topology(address: string, timeoutMs: number): Promise<TopologyResponseMsg> {
    return new Promise((resolve, reject) => {
      this.stub(address).Topology(
        {},
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err || !res ? reject(err ?? new Error('empty answer')) : resolve(res)),
      );
    });
  }
}

function describe(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (e.code === grpc.status.UNIMPLEMENTED)
    return `not a ringcache node (it does not serve ringcache.v1.Cluster)`;
  if (e.code === grpc.status.DEADLINE_EXCEEDED) return 'no answer before the deadline';
  if (e.code === grpc.status.UNAVAILABLE) return `unreachable (${e.details ?? 'connection failed'})`;
  if (e.code === grpc.status.INTERNAL || e.code === grpc.status.UNKNOWN)
    return `not a ringcache node? (${e.details ?? e.message})`;
  return e.details ?? e.message ?? String(err);
}

/** A failed admin call as a RingCacheError with our code (grpc-js status numbers match google.rpc.Code). */
function errorOf(err: unknown): RingCacheError {
  const e = err as Partial<grpc.ServiceError> | undefined;
  if (e?.code === undefined) return new RingCacheError('UNAVAILABLE', `no node answered: ${String(err)}`);
  const name = e.metadata?.get(METADATA.errorCode)[0];
  return errorFromWire(e.code, e.details ?? e.message ?? '', typeof name === 'string' ? name : undefined);
}
