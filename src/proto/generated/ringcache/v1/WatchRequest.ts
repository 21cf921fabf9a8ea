// Original file: proto/ringcache/v1/cache.proto


export interface WatchRequest {
  'prefix'?: (string);
}

export interface WatchRequest__Output {
  'prefix': (string);
}
