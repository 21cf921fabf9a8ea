// Original file: proto/ringcache/v1/types.proto


export interface PackedFrame {
  'payload'?: (Buffer | Uint8Array | string);
}

export interface PackedFrame__Output {
  'payload': (Buffer);
}
