// Original file: proto/ringcache/v1/peer.proto


export interface SyncRequest {
  'forNode'?: (string);
}

export interface SyncRequest__Output {
  'forNode': (string);
}
