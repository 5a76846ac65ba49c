/**
 * Who may call what. Bearer tokens in the `authorization` metadata are
 * checked by a server interceptor, before any message of the call is read,
 * so an unauthenticated upload is refused at once; the same interceptor
 * bounds request metadata. Handlers then check what each call names (a
 * worker id, a dataset name) against the token's role and globs with
 * `Guard.check`, which finds the caller again from the token the call
 * carries: a token's name identifies nothing.
 *
 * Tokens are configured by their SHA-256 (unique, as are their names) and
 * compared in constant time; only their names ever reach logs. With no
 * tokens configured, authentication is off and every call acts as admin.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { AuthToken, Role } from "../config.ts";
import { PulseError } from "../errors.ts";
import { REQUEST_METADATA_BYTES_MAX, REQUEST_METADATA_ENTRIES_MAX } from "../limits.ts";
import { toStatus } from "./status.ts";

/**
 * Services anyone may call: health checks come from probes without tokens,
 * and reflection serves only the contract, which is public (so that
 * `grpcurl list` and `grpcurl ... Health/Check` work as they are).
 */
const PUBLIC_SERVICES = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/** The service whose methods roles and globs govern. */
const PULSE_SERVICE_PREFIX = "/pulse.v1.PulseRuntime/";

/** What each role may call in pulse.v1.PulseRuntime; admin may call everything. */
const ROLE_METHODS: Record<Exclude<Role, "admin">, ReadonlySet<string>> = {
  worker: new Set([
    "RegisterWorker",
    "Heartbeat",
    "DeregisterWorker",
    "GetWorker",
    "ListWorkers",
    "RegisterDataset",
    "GetDataset",
    "ListDatasets",
    "SaveCheckpoint",
    "LoadCheckpoint",
    "GetCheckpoint",
    "ListCheckpoints",
    "DeleteCheckpoint",
    "PlanSave",
    "PlanLoad",
    "CommitStep",
    "GetStep",
    "ListSteps",
  ]),
  reader: new Set([
    "GetWorker",
    "ListWorkers",
    "GetDataset",
    "ListDatasets",
    "LoadCheckpoint",
    "GetCheckpoint",
    "ListCheckpoints",
    "PlanLoad",
    "GetStep",
    "ListSteps",
  ]),
};

/** Methods whose request names a dataset in `name`. */
const DATASET_METHODS: ReadonlySet<string> = new Set(["RegisterDataset", "GetDataset"]);

/** Who a call acts as: a configured token, or everyone while authentication is off. */
export interface Principal {
  /** The token's name, for messages and logs. */
  name: string;
  role: Role;
  /**
   * What tells this caller from every other: the token's SHA-256 (unique in
   * the configuration); undefined while authentication is off.
   */
  tokenSha256: string | undefined;
  workers: Scope;
  datasets: Scope;
  jobs: Scope;
}

/** A glob of names a token may act for. */
interface Scope {
  glob: string;
  pattern: RegExp;
}

/** What a call acts on, as far as rights go. */
export interface CallTarget {
  /** The worker the request names, if any. */
  worker_id?: string;
  /** The dataset the request names (RegisterDataset, GetDataset). */
  name?: string;
  /** The job the request names, if any (its steps, or a checkpoint of it). */
  job_id?: string;
}

const EVERYTHING: Scope = { glob: "*", pattern: /^/ };
const ANONYMOUS_ADMIN: Principal = {
  name: "anonymous",
  role: "admin",
  tokenSha256: undefined,
  workers: EVERYTHING,
  datasets: EVERYTHING,
  jobs: EVERYTHING,
};

/** Authenticates calls and checks their rights. */
export class Guard {
  #tokens: { hash: Buffer; principal: Principal }[];

  constructor(tokens: AuthToken[]) {
    this.#tokens = tokens.map((token) => ({
      hash: Buffer.from(token.sha256, "hex"),
      principal: {
        name: token.name,
        role: token.role,
        tokenSha256: token.sha256,
        workers: scopeOf(token.workers),
        datasets: scopeOf(token.datasets),
        jobs: scopeOf(token.jobs),
      },
    }));
  }

  /** Whether tokens are required. */
  get enabled(): boolean {
    return this.#tokens.length > 0;
  }

  /**
   * The interceptor that authenticates every call and checks that its role
   * may call the method, before any message of it is read, and bounds its
   * metadata.
   */
  interceptor(): grpc.ServerInterceptor {
    return (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, next) => {
              try {
                checkMetadataSize(metadata);
                if (method.path.startsWith(PULSE_SERVICE_PREFIX)) {
                  // The role is checked before any message is read: a token
                  // that may not save cannot even open a save.
                  this.check(metadata, method.path.slice(PULSE_SERVICE_PREFIX.length));
                } else if (!PUBLIC_SERVICES.some((prefix) => method.path.startsWith(prefix))) {
                  this.authenticate(metadata);
                }
              } catch (error) {
                const status = toStatus(error, method.path);
                call.sendStatus({ code: status.code, details: status.details });
                return;
              }
              next(metadata);
            },
          }),
      });
  }

  /**
   * Checks that the call's token may call `method` for what the request
   * names, and returns who the call acts as. The caller is found from the
   * token the call carries, never from a name.
   * @throws {PulseError} UNAUTHENTICATED, PERMISSION_DENIED
   */
  check(metadata: grpc.Metadata, method: string, target: CallTarget = {}): Principal {
    const principal = this.authenticate(metadata);
    if (principal.role === "admin") return principal;
    const deny = (reason: string) =>
      new PulseError("PERMISSION_DENIED", `Cannot call ${method}${reason}`);
    if (!ROLE_METHODS[principal.role].has(method)) {
      throw deny(`: token ${principal.name} has role ${principal.role}`);
    }
    const listing = { ListWorkers: principal.workers, ListDatasets: principal.datasets }[method];
    if (listing !== undefined && listing.glob !== "*") {
      const what = method === "ListWorkers" ? "workers" : "datasets";
      throw deny(`: token ${principal.name} may act only for ${what} ${listing.glob}`);
    }
    const { worker_id: workerId, job_id: jobId } = target;
    // A call for a job may leave worker_id empty: then it names no worker.
    const namesWorker = workerId !== undefined && !(jobId && workerId === "");
    if (namesWorker && !principal.workers.pattern.test(workerId)) {
      throw deny(
        ` for worker ${workerId}: token ${principal.name} may act only for workers ${principal.workers.glob}`,
      );
    }
    if (jobId && !principal.jobs.pattern.test(jobId)) {
      throw deny(
        ` for job ${jobId}: token ${principal.name} may act only for jobs ${principal.jobs.glob}`,
      );
    }
    const dataset = DATASET_METHODS.has(method) ? target.name : undefined;
    if (dataset !== undefined && !principal.datasets.pattern.test(dataset)) {
      throw deny(
        ` for dataset ${dataset}: token ${principal.name} may act only for datasets ${principal.datasets.glob}`,
      );
    }
    return principal;
  }

  /**
   * The principal of the bearer token in `metadata`.
   * @throws {PulseError} UNAUTHENTICATED for a missing or unknown token
   */
  authenticate(metadata: grpc.Metadata): Principal {
    if (!this.enabled) return ANONYMOUS_ADMIN;
    const header = metadata.get("authorization")[0];
    const match = typeof header === "string" ? /^Bearer (\S+)$/i.exec(header) : null;
    if (match === null) {
      throw new PulseError(
        "UNAUTHENTICATED",
        'Cannot authenticate: no "authorization: Bearer <token>" metadata',
      );
    }
    const hash = createHash("sha256").update(match[1]!).digest();
    // Every configured hash is compared, in constant time, whatever matches.
    let found: Principal | undefined;
    for (const token of this.#tokens) {
      if (timingSafeEqual(hash, token.hash)) found = token.principal;
    }
    if (found === undefined) {
      throw new PulseError("UNAUTHENTICATED", "Cannot authenticate: unknown token");
    }
    return found;
  }
}

function scopeOf(glob: string): Scope {
  return { glob, pattern: globToRegExp(glob) };
}

function checkMetadataSize(metadata: grpc.Metadata): void {
  const entries = Object.entries(metadata.toJSON()).flatMap(([key, values]) =>
    values.map((value) => [key, value] as const)
  );
  if (entries.length > REQUEST_METADATA_ENTRIES_MAX) {
    throw new PulseError(
      "RESOURCE_EXHAUSTED",
      `Cannot accept call: request metadata has ${entries.length} entries, limit is ${REQUEST_METADATA_ENTRIES_MAX}`,
    );
  }
  const bytes = entries.reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (bytes > REQUEST_METADATA_BYTES_MAX) {
    throw new PulseError(
      "RESOURCE_EXHAUSTED",
      `Cannot accept call: request metadata is ${bytes} bytes, limit is ${REQUEST_METADATA_BYTES_MAX}`,
    );
  }
}

/** A glob where `*` matches any run of characters, anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}
