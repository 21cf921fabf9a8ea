import { UnaryClient } from '../../src/cli/unary-client';
import type { ExplainResponseMsg } from '../../src/proto/messages';

/**
 * Keys whose replicas do not all hold the same version (tombstones included), each asked one by
 * one through `address`'s Cluster/Explain, not through a coordinator's quorum read: how the tests and
 * benches of anti-entropy and partitions check convergence. `batch` keys are asked at once.
 */
export async function keysApart(address: string, keys: readonly string[], batch = 50): Promise<string[]> {
  const c = new UnaryClient(address, 10_000);
  try {
    const out: string[] = [];
    for (let i = 0; i < keys.length; i += batch) {
      const answers = await Promise.all(
        keys.slice(i, i + batch).map((key) => c.cluster<ExplainResponseMsg>('Explain', { key })),
      );
      for (const e of answers) {
        const held = new Set(
          e.replicas.map((r) =>
            r.holds ? `${r.version?.timestamp}@${r.version?.node}/${r.tombstone}` : '-',
          ),
        );
        if (held.size > 1) out.push(e.key);
      }
    }
    return out;
  } finally {
    c.close();
  }
}
