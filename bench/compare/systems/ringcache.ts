import * as grpc from '@grpc/grpc-js';
import { LocalCluster } from '../../../src/cli/local-cluster';
import { loadServices } from '../../../src/proto/load';
import type { StatsResponseMsg } from '../../../src/proto/messages';
import { testConfig } from '../../../test/support/cluster';
import type { SystemId } from '../options';
import { own } from '../processes';
import type { OwnAccounting, RunningSystem, SystemDef } from './types';

/** Room for 1M entries on every node (N=3 puts each entry on all three) without eviction. */
const MAX_MEMORY_BYTES = 2 * 1024 * 1024 * 1024;

interface Shape {
  id: SystemId;
  label: string;
  nodes: number;
  factor: number;
  writeQuorum: number;
  /** 'raw' drives one node with a bare PipelineConnection instead of the SDK. */
  driver: 'sdk' | 'raw';
}

function stats(address: string): Promise<StatsResponseMsg> {
  const { Cluster } = loadServices();
  const client = new Cluster(address, grpc.credentials.createInsecure());
  return new Promise<StatsResponseMsg>((resolve, reject) => {
    const call = client as unknown as {
      Stats(
        req: object,
        opts: grpc.CallOptions,
        cb: (err: Error | null, res: StatsResponseMsg) => void,
      ): void;
    };
    call.Stats({}, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res)));
  }).finally(() => client.close());
}

async function start(shape: Shape): Promise<RunningSystem> {
  const config = await testConfig({
    nodes: shape.nodes,
    factor: shape.factor,
    writeQuorum: shape.writeQuorum,
    readQuorum: 1,
    maxMemoryBytes: MAX_MEMORY_BYTES,
  });
  const cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
  const pids = () => config.nodes.map((n) => cluster.pid(n.id)).filter((p): p is number => p !== undefined);
  const forget = own({ stop: () => cluster.stop().then(() => undefined), pids });
  try {
    await cluster.start();
  } catch (err) {
    forget();
    await cluster.stop();
    throw err;
  }
  const addresses = config.nodes.map((n) => n.address);
  return {
    spec:
      shape.driver === 'raw'
        ? { kind: 'raw', address: addresses[0]! }
        : { kind: 'ringcache', seeds: addresses },
    serverPids: pids,
    ownAccounting: async (): Promise<OwnAccounting | undefined> => {
      try {
        const all = await Promise.all(addresses.map(stats));
        return { bytes: all.reduce((a, s) => a + s.bytes, 0), source: 'Stats.bytes (store accounting)' };
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      await cluster.stop();
      forget();
    },
  };
}

function def(shape: Shape): SystemDef {
  return { id: shape.id, label: shape.label, unavailable: () => undefined, start: () => start(shape) };
}

export const ringcacheN1 = def({
  id: 'ringcache-n1',
  label: 'ringcache N=1',
  nodes: 3,
  factor: 1,
  writeQuorum: 1,
  driver: 'sdk',
});

export const ringcacheN3 = def({
  id: 'ringcache-n3',
  label: 'ringcache N=3 W=2',
  nodes: 3,
  factor: 3,
  writeQuorum: 2,
  driver: 'sdk',
});

export const rawTransport = def({
  id: 'raw',
  label: 'raw PipelinePacked, 1 node',
  nodes: 1,
  factor: 1,
  writeQuorum: 1,
  driver: 'raw',
});
