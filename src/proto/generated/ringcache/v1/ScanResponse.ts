// Original file: proto/ringcache/v1/cache.proto


export interface ScanResponse {
  'keys'?: (string)[];
  'cursor'?: (string);
}

export interface ScanResponse__Output {
  'keys': (string)[];
  'cursor': (string);
}
