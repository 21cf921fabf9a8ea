// Original file: proto/ringcache/v1/cluster.proto


export interface Replication {
  'factor'?: (number);
  'writeQuorum'?: (number);
  'readQuorum'?: (number);
}

export interface Replication__Output {
  'factor': (number);
  'writeQuorum': (number);
  'readQuorum': (number);
}
