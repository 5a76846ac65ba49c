/**
 * The standard gRPC health service (`grpc.health.v1.Health`), so that
 * grpc_health_probe, Kubernetes and load balancers can ask whether the runtime
 * serves. It is implemented here, from the descriptor the runtime embeds,
 * rather than with npm:grpc-health-check, which reads its .proto file from the
 * npm cache at start and so needs read access outside the runtime's directory.
 */
import * as grpc from "@grpc/grpc-js";
import type {
  HealthCheckRequest__Output,
  HealthCheckResponse,
  HealthHandlers,
} from "@pulsecheckpoint/proto/types";

/** A status of the health protocol. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

type WatchCall = grpc.ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>;

/** Statuses by service name ("" is the whole server) and their handlers. */
export class HealthService {
  #statuses = new Map<string, ServingStatus>();
  #watchers = new Set<{ service: string; call: WatchCall }>();

  /** @param services the services served, all SERVING at first */
  constructor(services: string[]) {
    for (const service of services) this.#statuses.set(service, "SERVING");
  }

  /** Sets the status of every service and tells the watchers. */
  setAll(status: ServingStatus): void {
    for (const service of this.#statuses.keys()) this.#statuses.set(service, status);
    for (const { service, call } of this.#watchers) {
      call.write({ status: this.#statuses.get(service) });
    }
  }

  /** Ends every Watch call, so that a shutdown need not wait for them. */
  endWatches(): void {
    for (const { call } of this.#watchers) call.end();
    this.#watchers.clear();
  }

  /** The handlers of `grpc.health.v1.Health`. */
  handlers(): HealthHandlers {
    return {
      Check: (call, callback) => {
        const status = this.#statuses.get(call.request.service);
        if (status === undefined) {
          callback({
            code: grpc.status.NOT_FOUND,
            details: `Unknown service ${call.request.service}`,
          });
          return;
        }
        callback(null, { status });
      },
      Watch: (call) => {
        const service = call.request.service;
        const watcher = { service, call };
        call.write({ status: this.#statuses.get(service) ?? "SERVICE_UNKNOWN" });
        if (!this.#statuses.has(service)) return void call.end();
        this.#watchers.add(watcher);
        call.on("cancelled", () => this.#watchers.delete(watcher));
      },
    };
  }
}
