// Original file: proto/ringcache/v1/peer.proto


export interface OwedRing {
  'nodeIds'?: (string)[];
}

export interface OwedRing__Output {
  'nodeIds': (string)[];
}
