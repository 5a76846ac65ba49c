/**
 * Who may call what. Bearer tokens in the `authorization` metadata are
 * checked by a server interceptor, before any message of the call is read,
 * so an unauthenticated upload is refused at once; the same interceptor
 * bounds request metadata. Handlers then check each call's worker id against
 * the token's role and `workers` glob with `Guard.check`.
 *
 * Tokens are configured by their SHA-256 and compared in constant time; only
 * their names ever reach logs. With no tokens configured, authentication is
 * off and every call acts as admin.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { AuthToken, Role } from "../config.ts";
import { PulseError } from "../errors.ts";
import { REQUEST_METADATA_BYTES_MAX, REQUEST_METADATA_ENTRIES_MAX } from "../limits.ts";
import { toStatus } from "./status.ts";

/** Methods anyone may call: health checks come from probes without tokens. */
const PUBLIC_SERVICES = ["/grpc.health.v1.Health/"];

/** The metadata entry that carries the authenticated token's name to handlers. */
const PRINCIPAL_KEY = "x-pulse-principal";

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
  ]),
  reader: new Set([
    "GetWorker",
    "ListWorkers",
    "GetDataset",
    "ListDatasets",
    "LoadCheckpoint",
    "GetCheckpoint",
    "ListCheckpoints",
  ]),
};

interface Principal {
  name: string;
  role: Role;
  workers: RegExp;
  /** The glob as configured, for messages. */
  workersGlob: string;
}

const ANONYMOUS_ADMIN: Principal = {
  name: "anonymous",
  role: "admin",
  workers: /^/,
  workersGlob: "*",
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
        workers: globToRegExp(token.workers),
        workersGlob: token.workers,
      },
    }));
  }

  /** Whether tokens are required. */
  get enabled(): boolean {
    return this.#tokens.length > 0;
  }

  /** The interceptor that authenticates every call and bounds its metadata. */
  interceptor(): grpc.ServerInterceptor {
    return (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, next) => {
              try {
                checkMetadataSize(metadata);
                metadata.remove(PRINCIPAL_KEY); // only this interceptor may set it
                if (!PUBLIC_SERVICES.some((prefix) => method.path.startsWith(prefix))) {
                  metadata.set(PRINCIPAL_KEY, this.#authenticate(metadata).name);
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
   * Checks that the call's token may call `method` for `workerId` (when the
   * method concerns one worker).
   * @throws {PulseError} permission_denied
   */
  check(metadata: grpc.Metadata, method: string, workerId?: string): void {
    const principal = this.#principalOf(metadata);
    if (principal.role === "admin") return;
    if (!ROLE_METHODS[principal.role].has(method)) {
      throw new PulseError(
        "PERMISSION_DENIED",
        `Cannot call ${method}: token ${principal.name} has role ${principal.role}`,
      );
    }
    if (method === "ListWorkers" && principal.workersGlob !== "*") {
      throw new PulseError(
        "PERMISSION_DENIED",
        `Cannot call ListWorkers: token ${principal.name} may act only for workers ${principal.workersGlob}`,
      );
    }
    if (workerId !== undefined && !principal.workers.test(workerId)) {
      throw new PulseError(
        "PERMISSION_DENIED",
        `Cannot call ${method} for worker ${workerId}: token ${principal.name} may act only for workers ${principal.workersGlob}`,
      );
    }
  }

  #authenticate(metadata: grpc.Metadata): Principal {
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

  #principalOf(metadata: grpc.Metadata): Principal {
    if (!this.enabled) return ANONYMOUS_ADMIN;
    const name = metadata.get(PRINCIPAL_KEY)[0];
    const token = this.#tokens.find((token) => token.principal.name === name);
    if (token === undefined) throw new Error("a call reached a handler unauthenticated");
    return token.principal;
  }
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
