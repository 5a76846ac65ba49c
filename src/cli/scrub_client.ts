/**
 * The Scrub call for the admin CLI, through a small grpc-js client of
 * `pulse.v1.PulseRuntime` typed by the generated `PulseRuntimeClient`: the
 * TypeScript SDK has no scrub method (yet). It connects as the SDK does with
 * the same address and options (plaintext `grpc://`, TLS `grpcs://` with the
 * CLI's CA and client certificate, the bearer token in every call), and turns
 * a failed call into a `CallError` carrying the status code's name.
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import type {
  BadChunk__Output,
  PulseRuntimeClient,
  ScrubProgress__Output,
  ScrubReport__Output,
  ScrubResponse__Output,
} from "@pulsecheckpoint/proto/types";
import type { RuntimeOptions } from "@pulsecheckpoint/sdk";

/** A call that failed: the name of its status code and the runtime's message. */
export class CallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "CallError";
  }
}

/** What a scrub streams back: progress while it runs, then each bad chunk. */
export interface ScrubListener {
  onProgress(progress: ScrubProgress__Output): void;
  onBadChunk(bad: BadChunk__Output): void;
}

/**
 * Runs a scrub on the runtime at `address`.
 * @param address `grpc://host:port`, `grpcs://host:port` or `host:port`, as the SDK takes it
 * @param options the token, TLS material and channel options the SDK was given
 * @returns the final report, once the stream has ended
 * @throws {CallError} when the call fails, or ends without a report
 */
export async function scrub(
  address: string,
  options: RuntimeOptions,
  request: { dryRun: boolean },
  listener: ScrubListener,
): Promise<ScrubReport__Output> {
  const client = clientOf(address, options);
  try {
    const metadata = new grpc.Metadata();
    if (options.token !== undefined) metadata.set("authorization", `Bearer ${options.token}`);
    const call = client.Scrub({ dry_run: request.dryRun }, metadata);
    let report: ScrubReport__Output | undefined;
    try {
      for await (const message of call as AsyncIterable<ScrubResponse__Output>) {
        if (message.progress) listener.onProgress(message.progress);
        else if (message.bad_chunk) listener.onBadChunk(message.bad_chunk);
        else if (message.report) report = message.report;
      }
    } catch (error) {
      const { code, details } = error as grpc.ServiceError;
      throw new CallError(grpc.status[code] ?? String(code), details || "the call failed");
    }
    if (report === undefined) throw new CallError("UNKNOWN", "the scrub ended without a report");
    return report;
  } finally {
    client.close();
  }
}

function clientOf(address: string, options: RuntimeOptions): PulseRuntimeClient {
  const Client = grpc.makeGenericClientConstructor(
    loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition,
    SERVICE_NAME,
  );
  const tls = address.startsWith("grpcs://");
  const target = address.replace(/^grpcs?:\/\//, "");
  const pem = (value: string | Uint8Array | undefined) =>
    value === undefined ? null : Buffer.from(value);
  const credentials = tls
    ? grpc.credentials.createSsl(
      pem(options.tls?.ca),
      pem(options.tls?.key),
      pem(options.tls?.cert),
    )
    : grpc.credentials.createInsecure();
  return new Client(
    target,
    credentials,
    options.channelOptions ?? {},
  ) as unknown as PulseRuntimeClient;
}
