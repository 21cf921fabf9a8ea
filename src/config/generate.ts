import {
  DEFAULT_ANTI_ENTROPY,
  DEFAULT_GOSSIP,
  DEFAULT_HINTS,
  DEFAULT_LIMITS,
  DEFAULT_NAME,
  DEFAULT_TOMBSTONE_GRACE_MS,
  DEFAULT_MAX_CLOCK_OFFSET_MS,
  DEFAULT_VNODES,
  defaultReplication,
} from './defaults';
import { ConfigIssues } from './issues';
import type { ClusterConfig, NodeConfig } from './types';
import { validateConfig } from './validate';

const SOURCE = '<generated>';

/**
 * For `ringcache up --nodes 5`: n nodes n1..nN on 127.0.0.1, consecutive ports (gRPC from basePort,
 * default 7401; HTTP from baseHttpPort, default 9401). `base` overrides any other field (its `nodes`
 * and `source` are ignored); what it leaves out gets cluster.yml's defaults, with replication capped
 * at n. Checked by the same rules as a file; errors name `<generated>` and the cluster.yml field.
 */
export function generateLocalConfig(opts: {
  nodes: number;
  basePort?: number;
  baseHttpPort?: number;
  base?: Partial<ClusterConfig>;
}): ClusterConfig {
  const issues = new ConfigIssues(SOURCE);
  const count = opts.nodes;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    issues.add(undefined, '--nodes', `${count} is out of range; expected a whole number 1..1000`);
    issues.throwIfAny();
  }
  const basePort = opts.basePort ?? 7401;
  const baseHttpPort = opts.baseHttpPort ?? 9401;
  for (const [option, base] of [
    ['basePort', basePort],
    ['baseHttpPort', baseHttpPort],
  ] as const) {
    if (!Number.isInteger(base) || base < 1 || base + count - 1 > 65535) {
      issues.add(
        undefined,
        option,
        `${base} is out of range; ports ${base}..${base + count - 1} must lie in 1..65535`,
      );
    }
  }
  issues.throwIfAny();

  const nodes: NodeConfig[] = Array.from({ length: count }, (_, i) =>
    localNode(i + 1, basePort + i, baseHttpPort + i),
  );
  const base = opts.base ?? {};
  const config: ClusterConfig = {
    name: base.name ?? DEFAULT_NAME,
    vnodes: base.vnodes ?? DEFAULT_VNODES,
    replication: defaultReplication(count, base.replication),
    gossip: { ...DEFAULT_GOSSIP, ...base.gossip },
    hints: { ...DEFAULT_HINTS, ...base.hints },
    tombstoneGraceMs: base.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS,
    maxClockOffsetMs: base.maxClockOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS,
    antiEntropy: base.antiEntropy ?? { ...DEFAULT_ANTI_ENTROPY },
    limits: { ...DEFAULT_LIMITS, ...base.limits },
    nodes,
    source: SOURCE,
  };
  validateConfig(config, () => undefined, issues);
  issues.throwIfAny();
  return config;
}

function localNode(n: number, port: number, httpPort: number): NodeConfig {
  const host = '127.0.0.1';
  return {
    id: `n${n}`,
    address: `${host}:${port}`,
    host,
    port,
    http: `${host}:${httpPort}`,
    httpHost: host,
    httpPort,
  };
}
