import type { Ring } from '../ring/ring';
import type { PeerClient } from './peer-client';

/** What the coordinator needs to know about the cluster right now; the node keeps it current. */
export interface ClusterView {
  readonly selfId: string;
  /** The ring of the current epoch. */
  ring(): Ring;
  epoch(): number;
  /** Alive or suspect: worth sending traffic to. A dead member is skipped and gets hints. */
  isAlive(id: string): boolean;
  peer(id: string): PeerClient;
}
