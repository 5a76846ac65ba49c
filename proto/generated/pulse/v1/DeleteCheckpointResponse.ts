// Original file: pulse.proto


export interface DeleteCheckpointResponse {
}

export interface DeleteCheckpointResponse__Output {
}
