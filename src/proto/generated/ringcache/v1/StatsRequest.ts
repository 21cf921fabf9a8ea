// Original file: proto/ringcache/v1/cluster.proto


export interface StatsRequest {
}

export interface StatsRequest__Output {
}
