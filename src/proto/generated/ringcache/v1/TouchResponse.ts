// Original file: proto/ringcache/v1/cache.proto


export interface TouchResponse {
  'found'?: (boolean);
}

export interface TouchResponse__Output {
  'found': (boolean);
}
