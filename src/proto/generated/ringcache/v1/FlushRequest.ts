// Original file: proto/ringcache/v1/cluster.proto


export interface FlushRequest {
  'prefix'?: (string);
  'confirm'?: (boolean);
}

export interface FlushRequest__Output {
  'prefix': (string);
  'confirm': (boolean);
}
