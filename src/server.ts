/**
 * The composition root: opens the store, builds the domain modules, serves
 * gRPC and the metrics endpoint, and shuts it all down gracefully.
 */
import { Guard } from "./api/auth.ts";
import { startGrpcServer } from "./api/grpc_server.ts";
import { isLoopback, withPort } from "./address.ts";
import { Checkpoints } from "./checkpoints/checkpoints.ts";
import { DirectPlans } from "./checkpoints/direct_plans.ts";
import { StoreLeases } from "./checkpoints/store_leases.ts";
import { GarbageCollector } from "./checkpoints/garbage_collector.ts";
import { WorkerHasher } from "./checkpoints/hasher.ts";
import { Retention } from "./checkpoints/retention.ts";
import { Scrubber } from "./checkpoints/scrubber.ts";
import type { Config } from "./config.ts";
import { DatasetRegistry } from "./datasets/dataset_registry.ts";
import { PulseError } from "./errors.ts";
import { JobSteps } from "./jobs/job_steps.ts";
import { checkpointOwnerOf } from "./keys.ts";
import { log } from "./log.ts";
import { replicaInfo, setActiveWorkersSource } from "./metrics.ts";
import { serveMetrics } from "./metrics_server.ts";
import { FsStore } from "./storage/fs_store.ts";
import { S3Store } from "./storage/s3_store.ts";
import type { ObjectStore } from "./storage/store.ts";
import { WorkerRegistry } from "./workers/worker_registry.ts";
import { GC_LOCK_PREFIX, retentionLockPrefixOf } from "./keys.ts";
import { replicaIdOf } from "./replica.ts";
import { StoreLock } from "./storage/store_lock.ts";

const TARGET = "pulse::server";

/** A running runtime. */
export interface RunningRuntime {
  /** The gRPC port actually bound (useful when the config asked for port 0). */
  grpcPort: number;
  /** The metrics port actually bound. */
  metricsPort: number;
  /**
   * Stops accepting calls, lets calls in flight finish for up to
   * `server.drain_timeout_ms`, cancels the rest, and releases everything.
   */
  shutdown(): Promise<void>;
}

/** Starts the runtime described by `config`. */
export async function startRuntime(config: Config): Promise<RunningRuntime> {
  const replicaId = replicaIdOf(config["server.replica_id"]);
  replicaInfo.set({ replica: replicaId }, 1);
  log.info(TARGET, "Starting PulseCheckpoint Runtime", {
    deno_version: Deno.version.deno,
    storage_backend: config["storage.backend"],
    replica_id: replicaId,
  });
  const store = await openStore(config);
  warnIfUnshareable(store);
  const domain = openDomain(store, config, replicaId);
  const guard = new Guard(config["auth.tokens"]);
  const grpcServer = await startGrpcServer(config, {
    guard,
    ...domain,
    save: {
      idleTimeoutMs: config["server.save_idle_timeout_ms"],
      savesPerCallerMax: config["limits.saves_per_token_max"],
    },
    loadCallBytesMax: config["server.load_call_bytes_max"],
  });
  warnIfOpen(config, guard);
  let ready = true;
  const metricsServer = serveMetrics(config["server.metrics_addr"], () => ready);
  log.info(TARGET, "Runtime started", {
    grpc_addr: withPort(config["server.grpc_addr"], grpcServer.port),
    metrics_addr: withPort(config["server.metrics_addr"], metricsServer.addr.port),
    store: store.description,
    tls: config["server.tls_cert"] === ""
      ? "off"
      : config["server.tls_client_ca"] === ""
      ? "on"
      : "mutual",
    authentication: guard.enabled ? `${config["auth.tokens"].length} tokens` : "off",
    deno_version: Deno.version.deno,
    replica_id: replicaId,
  });
  domain.garbageCollector.start();
  domain.workers.start();
  return {
    grpcPort: grpcServer.port,
    metricsPort: metricsServer.addr.port,
    async shutdown() {
      ready = false;
      grpcServer.stopServing();
      log.info(TARGET, "Shutting down: draining calls in flight", {
        drain_timeout_ms: config["server.drain_timeout_ms"],
      });
      await domain.garbageCollector.stop();
      await domain.scrubber.stop();
      await grpcServer.drain(config["server.drain_timeout_ms"]);
      await domain.retention.idle();
      await domain.workers.stop();
      domain.hasher.close();
      await metricsServer.shutdown();
      await store.close();
      log.info(TARGET, "Runtime stopped");
    },
  };
}

// The domain modules over `store`, wired to each other.
function openDomain(store: ObjectStore, config: Config, replicaId: string) {
  // Replicas share S3 only: the fs store is one runtime's (its directory lock).
  const shared = store instanceof S3Store;
  const lockOptions = { holder: replicaId, ttlMs: config["storage.lease_ms"] };
  const workers = new WorkerRegistry(store, {
    heartbeatTimeoutMs: config["server.heartbeat_timeout_ms"],
    cacheMs: config["registry.cache_ms"],
    scanIntervalMs: config["registry.scan_interval_ms"],
  });
  setActiveWorkersSource(() => workers.activeCount());
  const direct = config["storage.direct_transfer"] ? store.direct : undefined;
  const hasher = new WorkerHasher(config["storage.hash_workers"]);
  const checkpoints = new Checkpoints(store, {
    direct,
    writesInFlight: config["storage.writes_in_flight"],
    chunkBuffers: config["storage.chunk_buffers"],
    chunkBufferWaitMs: config["storage.chunk_buffer_wait_ms"],
    readsAhead: config["storage.reads_ahead"],
    checkpointBytesMax: config["limits.checkpoint_bytes_max"],
    hasher,
    savesPerWorkerMax: config["limits.saves_per_worker_max"],
    savesMax: config["limits.saves_max"],
    requireWorker: (action, workerId) => workers.requireRegistered(action, workerId),
    replicas: {
      shared,
      replicaId,
      leaseMs: config["storage.lease_ms"],
      // A claim whose replica died is free after one lease; a live one is
      // waited on as long as a client may stay silent, and a lease more.
      claimWaitMs: config["server.save_idle_timeout_ms"] + config["storage.lease_ms"],
    },
    // `retention` is set below, before the first call; a job's checkpoints are kept by steps.
    onSaved: (checkpoint) => {
      if (checkpoint.shard === undefined) retention.schedule(checkpoint.workerId);
    },
  });
  const retention = new Retention(store, checkpoints, {
    keepLast: config["retention.keep_last"],
    keepEvery: config["retention.keep_every"],
    lockOf: shared
      ? (workerId) => new StoreLock(store, retentionLockPrefixOf(workerId), lockOptions)
      : undefined,
  });
  const garbageCollector = new GarbageCollector(store, checkpoints.chunkLeases, {
    graceMs: config["gc.grace_ms"],
    intervalMs: config["gc.interval_ms"],
    lock: shared ? new StoreLock(store, GC_LOCK_PREFIX, lockOptions) : undefined,
  });
  const scrubber = new Scrubber(store, checkpoints.chunkLeases);
  const datasets = new DatasetRegistry(store);
  const jobs = openJobSteps(store, config, checkpoints, workers);
  const plans = direct && new DirectPlans(direct, {
    checkpoints,
    leases: new StoreLeases(store),
  }, {
    expiryMs: config["storage.presign_expiry_ms"],
    requireWorker: (action, workerId) => workers.requireRegistered(action, workerId),
  });
  return {
    workers,
    datasets,
    checkpoints,
    jobs,
    retention,
    garbageCollector,
    scrubber,
    plans,
    hasher,
  };
}

// Job steps over the checkpoints (a shard is a checkpoint of its job) and workers.
function openJobSteps(
  store: ObjectStore,
  config: Config,
  checkpoints: Checkpoints,
  workers: WorkerRegistry,
): JobSteps {
  return new JobSteps(store, {
    deleteShard: (jobId, checkpointId) =>
      checkpoints.delete(checkpointOwnerOf("", jobId), checkpointId).catch((error) => {
        if (!(error instanceof PulseError && error.code === "NOT_FOUND")) throw error;
      }),
    // A worker that deregistered (or whose record is gone) will not finish its shard either.
    isGone: async (workerId) => {
      try {
        return (await workers.get(workerId)).state !== "ACTIVE";
      } catch (error) {
        if (error instanceof PulseError && error.code === "NOT_FOUND") return true;
        throw error;
      }
    },
  }, {
    commitTimeoutMs: config["jobs.commit_timeout_ms"],
    keepLastSteps: config["retention.keep_last_steps"],
  });
}

// Leases and idempotency claims between replicas rest on conditional writes.
function warnIfUnshareable(store: ObjectStore): void {
  if (!(store instanceof S3Store) || store.conditionalWrites) return;
  log.warn(
    TARGET,
    "The S3 server ignores conditional writes (If-None-Match): run ONE runtime on this bucket. " +
      "GC leases, retention leases and idempotency claims are then exact within one process only.",
    { store: store.description },
  );
}

function warnIfOpen(config: Config, guard: Guard): void {
  if (guard.enabled || isLoopback(config["server.grpc_addr"])) return;
  log.warn(
    TARGET,
    "AUTHENTICATION IS OFF: no [[auth.tokens]] are configured and gRPC listens beyond loopback. " +
      "Anyone who can reach this address can read, overwrite and delete every checkpoint. " +
      "Configure tokens (see SECURITY.md) or listen on 127.0.0.1 only.",
    { grpc_addr: config["server.grpc_addr"] },
  );
}

async function openStore(config: Config): Promise<ObjectStore> {
  if (config["storage.backend"] !== "s3") return await FsStore.open(config["storage.path"]);
  return await S3Store.open({
    bucket: config["storage.bucket"],
    prefix: config["storage.prefix"],
    endpoint: config["storage.endpoint"],
    region: config["storage.region"],
    forcePathStyle: config["storage.force_path_style"],
    createBucket: config["storage.create_bucket"],
    retry: {
      maxAttempts: config["retry.max_attempts"],
      initialDelayMs: config["retry.initial_delay_ms"],
      maxDelayMs: config["retry.max_delay_ms"],
    },
    publicEndpoint: config["storage.public_endpoint"],
  });
}
