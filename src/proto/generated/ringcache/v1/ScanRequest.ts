// Original file: proto/ringcache/v1/cache.proto


export interface ScanRequest {
  'prefix'?: (string);
  'count'?: (number);
  'cursor'?: (string);
}

export interface ScanRequest__Output {
  'prefix': (string);
  'count': (number);
  'cursor': (string);
}
