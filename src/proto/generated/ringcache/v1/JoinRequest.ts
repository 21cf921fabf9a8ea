// Original file: proto/ringcache/v1/cluster.proto


export interface JoinRequest {
  'id'?: (string);
  'address'?: (string);
  'httpAddress'?: (string);
}

export interface JoinRequest__Output {
  'id': (string);
  'address': (string);
  'httpAddress': (string);
}
