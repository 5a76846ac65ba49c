// Original file: pulse.proto


export interface DeregisterWorkerResponse {
}

export interface DeregisterWorkerResponse__Output {
}
