/** What a client worker needs to reach a system; plain JSON so it crosses the process boundary. */
export type DriverSpec =
  | { kind: 'ringcache'; seeds: string[] }
  | { kind: 'raw'; address: string }
  | { kind: 'redis'; nodes: { host: string; port: number }[] }
  | { kind: 'memcached'; servers: string[] };

/** The two operations of the workload, as each system's usual Node client does them. */
export interface Driver {
  /** Resolves true on a hit, false on a miss; rejects on an error. */
  get(key: string): Promise<boolean>;
  set(key: string, value: Buffer): Promise<void>;
  close(): Promise<void>;
}
