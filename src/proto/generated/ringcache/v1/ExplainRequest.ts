// Original file: proto/ringcache/v1/cluster.proto


export interface ExplainRequest {
  'key'?: (string);
}

export interface ExplainRequest__Output {
  'key': (string);
}
