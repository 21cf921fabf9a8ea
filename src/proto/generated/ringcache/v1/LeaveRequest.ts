// Original file: proto/ringcache/v1/cluster.proto


export interface LeaveRequest {
  'id'?: (string);
}

export interface LeaveRequest__Output {
  'id': (string);
}
