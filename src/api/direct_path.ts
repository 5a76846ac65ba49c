/**
 * PlanSave and PlanLoad, the direct path's calls: the runtime answers with
 * presigned requests for the bucket, or FAILED_PRECONDITION when it offers
 * no direct path (an fs store, `storage.direct_transfer = false`), which the
 * SDKs take as "send the bytes through SaveCheckpoint/LoadCheckpoint".
 */
import { toTimestamp } from "@pulsecheckpoint/proto";
import type {
  PlanLoadRequest__Output,
  PlanLoadResponse,
  PlanSaveRequest__Output,
  PlanSaveResponse,
} from "@pulsecheckpoint/proto/types";
import { directUnavailable } from "../checkpoints/checkpoints.ts";
import type { DirectPlans } from "../checkpoints/direct_plans.ts";
import { checkpointOwnerOf } from "../keys.ts";
import { plansTotal } from "../metrics.ts";
import { checkpointMessage } from "./messages.ts";

/** Answers a PlanSave request. */
export async function planSave(
  plans: DirectPlans | undefined,
  request: PlanSaveRequest__Output,
): Promise<PlanSaveResponse> {
  if (plans === undefined) throw directUnavailable("plan save");
  const plan = await plans.planSave({
    workerId: request.worker_id,
    jobId: request.job_id,
    planId: request.plan_id,
    idempotencyKey: request.idempotency_key,
    baseCheckpointId: request.base_checkpoint_id,
    chunks: request.chunks.map((chunk) => ({ sha256: chunk.sha256, size: chunk.size })),
  });
  plansTotal.inc({ operation: "save" });
  return {
    plan_id: plan.planId,
    uploads: plan.uploads.map(({ index, request }) => ({
      index,
      url: request.url,
      headers: request.headers,
    })),
    expires_at: toTimestamp(plan.expiresAt),
    existing: plan.existing && checkpointMessage(plan.existing),
  };
}

/** Answers a PlanLoad request. */
export async function planLoad(
  plans: DirectPlans | undefined,
  request: PlanLoadRequest__Output,
): Promise<PlanLoadResponse> {
  if (plans === undefined) throw directUnavailable("plan load");
  const plan = await plans.planLoad(
    checkpointOwnerOf(request.worker_id, request.job_id),
    request.checkpoint_id,
    request.first_chunk,
  );
  plansTotal.inc({ operation: "load" });
  return {
    checkpoint: checkpointMessage(plan.checkpoint),
    chunks: plan.chunks,
    next_chunk: plan.nextChunk,
    expires_at: toTimestamp(plan.expiresAt),
  };
}
