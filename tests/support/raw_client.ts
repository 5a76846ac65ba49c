/**
 * A grpc-js client of `pulse.v1.PulseRuntime` without the SDK: for tests that
 * send what the SDK never would (malformed streams, hostile fields) and for
 * benchmarks that time the runtime without the SDK's own work.
 */
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";

/** The service's methods by name, with untyped requests and responses. */
// deno-lint-ignore no-explicit-any
export type RawClient = grpc.Client & Record<string, any>;

/** A plaintext client of the runtime at `address`, with grpc-js channel options. */
export function rawClient(address: string, options: grpc.ChannelOptions = {}): RawClient {
  const Client = grpc.makeGenericClientConstructor(
    loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition,
    SERVICE_NAME,
  );
  return new Client(address, grpc.credentials.createInsecure(), options) as RawClient;
}

/**
 * Sends `messages` as one SaveCheckpoint stream.
 * @returns the runtime's response
 * @throws the status the runtime answered, if not OK
 */
export function rawSave(client: RawClient, messages: unknown[]): Promise<SaveResponse> {
  return new Promise((resolve, reject) => {
    const call = client.SaveCheckpoint(
      (error: grpc.ServiceError | null, response: SaveResponse) =>
        error ? reject(error) : resolve(response),
    );
    for (const message of messages) call.write(message);
    call.end();
  });
}

/**
 * Sends `messages` as one SaveCheckpoint stream that must fail.
 * @returns the status the runtime answered
 * @throws if the save succeeded
 */
export function rawSaveError(client: RawClient, messages: unknown[]): Promise<grpc.ServiceError> {
  return rawSave(client, messages).then(
    () => Promise.reject(new Error("the save succeeded")),
    (error: grpc.ServiceError) => error,
  );
}

/** A SaveCheckpointResponse as grpc-js decodes it (proto field names). */
export interface SaveResponse {
  checkpoint: { checkpoint_id: string; size_bytes: number; sha256: string };
}
