/**
 * The handler table of service `pulse.v1.PulseRuntime`: each method turns
 * its request into a call of a domain module and the result into its
 * response, with its rights checked first, counted and timed, and every
 * error sent through `toStatus`. The save and load streams have modules of
 * their own (`save_checkpoint.ts`, `load_checkpoint.ts`); Scrub's stream,
 * progress and then its findings, is here.
 */
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { fromStruct, toTimestamp } from "@pulsecheckpoint/proto";
import type {
  PulseRuntimeHandlers,
  ScrubRequest__Output,
  ScrubResponse,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoints } from "../checkpoints/checkpoints.ts";
import type { DirectPlans } from "../checkpoints/direct_plans.ts";
import type { GarbageCollector } from "../checkpoints/garbage_collector.ts";
import type { Scrubber } from "../checkpoints/scrubber.ts";
import { PulseError } from "../errors.ts";
import type { DatasetRegistry } from "../datasets/dataset_registry.ts";
import type { JobSteps } from "../jobs/job_steps.ts";
import { checkpointOwnerOf } from "../keys.ts";
import { log } from "../log.ts";
import type { WorkerRegistry } from "../workers/worker_registry.ts";
import type { CallTarget, Guard, Principal } from "./auth.ts";
import { track } from "./call_metrics.ts";
import { planLoad, planSave } from "./direct_path.ts";
import { loadCheckpointHandler } from "./load_checkpoint.ts";
import {
  badChunkMessage,
  checkpointMessage,
  datasetMessage,
  gcReportMessage,
  scrubProgressMessage,
  scrubReportMessage,
  stepMessage,
  workerMessage,
} from "./messages.ts";
import { saveCheckpointHandler, type SaveHandlerOptions } from "./save_checkpoint.ts";
import { toStatus } from "./status.ts";

/** What the service works on. */
export interface PulseServiceParts {
  guard: Guard;
  workers: WorkerRegistry;
  datasets: DatasetRegistry;
  checkpoints: Checkpoints;
  jobs: JobSteps;
  garbageCollector: GarbageCollector;
  scrubber: Scrubber;
  save: SaveHandlerOptions;
  /** Most bytes one LoadCheckpoint call may ask for (`server.load_call_bytes_max`). */
  loadCallBytesMax: number;
  /** The direct path's planner; undefined when the runtime offers none. */
  plans: DirectPlans | undefined;
}

/** Builds the handlers of `pulse.v1.PulseRuntime`. */
export function createPulseService(parts: PulseServiceParts): PulseRuntimeHandlers {
  return {
    ...workerHandlers(parts),
    ...datasetHandlers(parts),
    ...checkpointHandlers(parts),
    ...jobHandlers(parts),
    RunGc: unary(parts.guard, "RunGc", async (request) => {
      const report = await parts.garbageCollector.collect({
        dryRun: request.dry_run,
        graceMs: request.grace_ms ?? undefined,
      });
      return gcReportMessage(report);
    }),
    Scrub: scrubHandler(parts.guard, parts.scrubber),
  };
}

function workerHandlers({ guard, workers }: PulseServiceParts) {
  return {
    RegisterWorker: unary(guard, "RegisterWorker", async (request) => {
      const worker = await workers.register(request.worker_id, fromStruct(request.metadata));
      log.info("pulse::worker", "Worker registered", { worker_id: worker.workerId });
      return { worker: workerMessage(worker) };
    }),
    Heartbeat: unary(guard, "Heartbeat", async (request) => {
      const serverTime = await workers.heartbeat(request.worker_id);
      return {
        server_time: toTimestamp(serverTime),
        heartbeat_interval_ms: workers.heartbeatIntervalMs,
      };
    }),
    DeregisterWorker: unary(guard, "DeregisterWorker", async (request) => {
      await workers.deregister(request.worker_id);
      log.info("pulse::worker", "Worker deregistered", { worker_id: request.worker_id });
      return {};
    }),
    GetWorker: unary(guard, "GetWorker", async (request) => {
      return { worker: workerMessage(await workers.get(request.worker_id)) };
    }),
    ListWorkers: unary(guard, "ListWorkers", async (request) => {
      const page = await workers.list(request.page_size, request.page_token);
      return { workers: page.workers.map(workerMessage), next_page_token: page.nextPageToken };
    }),
  } satisfies Partial<PulseRuntimeHandlers>;
}

function datasetHandlers({ guard, datasets }: PulseServiceParts) {
  return {
    RegisterDataset: unary(guard, "RegisterDataset", async (request, principal) => {
      const dataset = await datasets.register(
        request.name,
        request.path,
        fromStruct(request.metadata),
        { mayMove: principal.role === "admin" },
      );
      log.info("pulse::dataset", "Dataset registered", { name: dataset.name, path: dataset.path });
      return { dataset: datasetMessage(dataset) };
    }),
    GetDataset: unary(guard, "GetDataset", async (request) => {
      return { dataset: datasetMessage(await datasets.get(request.name)) };
    }),
    ListDatasets: unary(guard, "ListDatasets", async (request) => {
      const page = await datasets.list(request.page_size, request.page_token);
      return { datasets: page.datasets.map(datasetMessage), next_page_token: page.nextPageToken };
    }),
  } satisfies Partial<PulseRuntimeHandlers>;
}

function checkpointHandlers(parts: PulseServiceParts) {
  const { guard, checkpoints } = parts;
  return {
    SaveCheckpoint: saveCheckpointHandler(guard, { checkpoints, jobs: parts.jobs }, parts.save),
    LoadCheckpoint: loadCheckpointHandler(guard, checkpoints, parts.loadCallBytesMax),
    GetCheckpoint: unary(guard, "GetCheckpoint", async (request) => {
      const { checkpoint, chunks } = await checkpoints.get(
        checkpointOwnerOf(request.worker_id, request.job_id),
        request.checkpoint_id,
      );
      return {
        checkpoint: checkpointMessage(checkpoint),
        chunk_sha256s: request.include_chunks ? chunks.map((chunk) => chunk.sha256) : [],
      };
    }),
    ListCheckpoints: unary(guard, "ListCheckpoints", async (request) => {
      const page = await checkpoints.list(request.worker_id, request.page_size, request.page_token);
      return {
        checkpoints: page.checkpoints.map(checkpointMessage),
        next_page_token: page.nextPageToken,
      };
    }),
    PlanSave: unary(guard, "PlanSave", (request) => planSave(parts.plans, request)),
    PlanLoad: unary(guard, "PlanLoad", (request) => planLoad(parts.plans, request)),
    DeleteCheckpoint: unary(guard, "DeleteCheckpoint", async (request) => {
      await checkpoints.delete(request.worker_id, request.checkpoint_id);
      log.info("pulse::checkpoint", "Checkpoint deleted", {
        worker_id: request.worker_id,
        checkpoint_id: request.checkpoint_id,
      });
      return {};
    }),
  } satisfies Partial<PulseRuntimeHandlers>;
}

function jobHandlers({ guard, jobs }: PulseServiceParts) {
  return {
    CommitStep: unary(guard, "CommitStep", async (request) => {
      const step = await jobs.commitStep(request.job_id, request.step, request.world_size, {
        timeoutMs: request.timeout_ms ?? undefined,
      });
      return { step: stepMessage(step) };
    }),
    GetStep: unary(guard, "GetStep", async (request) => {
      const step = await jobs.getStep(request.job_id, request.step ?? undefined);
      return { step: stepMessage(step) };
    }),
    ListSteps: unary(guard, "ListSteps", async (request) => {
      const page = await jobs.listSteps(request.job_id, request.page_size, request.page_token);
      return { steps: page.steps.map(stepMessage), next_page_token: page.nextPageToken };
    }),
  } satisfies Partial<PulseRuntimeHandlers>;
}

type ScrubCall = grpc.ServerWritableStream<ScrubRequest__Output, ScrubResponse>;

// Scrub: progress while it verifies (dropped while the client is behind),
// then each bad chunk and the report, each written once the client took the
// one before. A client that leaves stops the scrub.
function scrubHandler(
  guard: Guard,
  scrubber: Scrubber,
): grpc.handleServerStreamingCall<ScrubRequest__Output, ScrubResponse> {
  return (call) => {
    const done = track("Scrub");
    scrub(guard, scrubber, call).then(
      () => {
        done(grpc.status.OK);
        call.end();
      },
      (error) => {
        const status = toStatus(error, "Scrub");
        done(status.code);
        if (!call.destroyed) call.emit("error", status);
      },
    );
  };
}

async function scrub(guard: Guard, scrubber: Scrubber, call: ScrubCall): Promise<void> {
  guard.check(call.metadata, "Scrub");
  const left = new AbortController();
  if (call.cancelled) left.abort();
  else call.once("cancelled", () => left.abort());
  let behind = false;
  const report = await scrubber.scrub({
    dryRun: call.request.dry_run,
    signal: left.signal,
    onProgress: (progress) => {
      if (behind || call.destroyed) return;
      behind = !call.write({ progress: scrubProgressMessage(progress) });
      if (behind) call.once("drain", () => behind = false);
    },
  });
  for (const bad of report.badChunks) await writeInTurn(call, { bad_chunk: badChunkMessage(bad) });
  await writeInTurn(call, { report: scrubReportMessage(report) });
  log.info("pulse::scrub", "Scrub reported", { bad_chunks: report.badChunks.length });
}

// Writes a message, then waits until the client has taken what is buffered.
async function writeInTurn(call: ScrubCall, message: ScrubResponse): Promise<void> {
  const gone = () => new PulseError("ABORTED", "Cannot scrub: the client left");
  if (call.cancelled || call.destroyed) throw gone();
  if (call.write(message)) return;
  // The listener of the event that did not come is removed by the abort.
  const settled = new AbortController();
  const drained = once(call, "drain", { signal: settled.signal });
  const closed = once(call, "close", { signal: settled.signal });
  drained.catch(() => {});
  closed.catch(() => {});
  try {
    const first = await Promise.race([drained.then(() => "drain"), closed.then(() => "close")]);
    if (first === "close") throw gone();
  } finally {
    settled.abort();
  }
}

// The request and response types of unary method `M`.
type UnaryRequest<M extends keyof PulseRuntimeHandlers> = PulseRuntimeHandlers[M] extends
  grpc.handleUnaryCall<infer Request, unknown> ? Request : never;
type UnaryResponse<M extends keyof PulseRuntimeHandlers> = PulseRuntimeHandlers[M] extends
  grpc.handleUnaryCall<never, infer Response> ? Response : never;

// A unary handler whose call is authorized, for the request's worker_id when
// it has one, before `handle` runs.
function unary<M extends keyof PulseRuntimeHandlers & string>(
  guard: Guard,
  method: M,
  handle: (
    request: UnaryRequest<M>,
    principal: Principal,
  ) => UnaryResponse<M> | Promise<UnaryResponse<M>>,
): grpc.handleUnaryCall<UnaryRequest<M>, UnaryResponse<M>> {
  return (call, callback) => {
    const done = track(method);
    // Called inside an async function so that a synchronous throw becomes a
    // rejection too, never grpc-js's UNKNOWN.
    (async () => {
      const principal = guard.check(call.metadata, method, call.request as CallTarget);
      return await handle(call.request, principal);
    })().then(
      (response) => {
        done(grpc.status.OK);
        callback(null, response);
      },
      (error) => {
        const status = toStatus(error, method);
        done(status.code);
        callback(status);
      },
    );
  };
}
