/**
 * The PulseCheckpoint gRPC contract, shared by the runtime and the SDKs: the
 * package definition loaded from the embedded descriptor (no .proto file is
 * read at run time), the names of the services, and conversions between the
 * protobuf well-known types and plain JavaScript values. Message types are in
 * `@pulsecheckpoint/proto/types`, wire constants in
 * `@pulsecheckpoint/proto/protocol`.
 *
 * @module
 */
import * as protoLoader from "@grpc/proto-loader";
import { PULSE_DESCRIPTOR } from "./_descriptor.ts";

export {
  fromStruct,
  fromTimestamp,
  type JsonObject,
  type JsonValue,
  toStruct,
  toTimestamp,
} from "./well_known.ts";

/**
 * A gRPC package definition as `@grpc/proto-loader` makes it: service and
 * message definitions by full name. `definition[SERVICE_NAME]` is the service
 * definition for a grpc-js client or server.
 */
export type PackageDefinition = Record<string, object>;

/** Full name of the service. */
export const SERVICE_NAME = "pulse.v1.PulseRuntime";

/** Full name of the standard health service the runtime serves beside it. */
export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health";

/**
 * Loads the gRPC package definition of `pulse.v1` and `grpc.health.v1`.
 *
 * Fields keep their proto names (snake_case), 64-bit integers become numbers,
 * enums become their names, every field is present with its default, and a
 * oneof's name holds the name of the field that is set: the shapes of
 * `@pulsecheckpoint/proto/types`, which are generated with the same options.
 *
 * @returns the package definition, for `grpc.loadPackageDefinition` or a server
 * @example
 * ```ts
 * import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
 * const service = loadPulsePackage()[SERVICE_NAME];
 * ```
 */
export function loadPulsePackage(): PackageDefinition {
  return protoLoader.fromJSON(PULSE_DESCRIPTOR, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}
