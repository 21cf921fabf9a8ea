// Original file: proto/ringcache/v1/cluster.proto


export interface TopologyRequest {
}

export interface TopologyRequest__Output {
}
