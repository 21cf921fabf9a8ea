import { BallotFence } from '../../../../src/cluster/replication/ballots';
import { RecordCopies } from '../../../../src/cluster/replication/record-copies';
import { RequestLog } from '../../../../src/cluster/replication/request-log';
import { ReadModifyWriteReplica } from '../../../../src/cluster/replication/replica-side';
import { Store } from '../../../../src/store/store';
import type { StoreRecord } from '../../../../src/store/types';
import type { Version } from '../../../../src/store/version';

/** What the tests of one replica's read-modify-write answers and record copies share. */
export const NOW = 1_740_800_000_000;
export const ballot = (ms: number, node: string): Version => ({ timestamp: (NOW + ms) * 1024, node });
export const counter = (value: number, version: Version): StoreRecord => ({
  value: Buffer.from(String(value)),
  flags: 0,
  version,
  expiresAtMs: 0,
  tombstone: false,
});

/** Node n3's store, request log and copies, with its answers to read-modify-writes, ballots settled, at NOW. */
export function parts() {
  const clock = { now: () => NOW };
  const store = new Store({
    nodeId: 'n3',
    maxMemoryBytes: 1 << 20,
    maxKeyBytes: 250,
    maxValueBytes: 1 << 16,
    clock,
  });
  const ballots = new BallotFence();
  ballots.settle({ timestamp: 0, node: 'n3' });
  const requests = new RequestLog();
  return {
    store,
    requests,
    ballots,
    copies: new RecordCopies(store, requests, clock.now, ballots),
    replica: new ReadModifyWriteReplica('n3', store, ballots, requests, clock.now),
  };
}
