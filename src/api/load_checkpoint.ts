/**
 * LoadCheckpoint, the server-streaming call: the checkpoint first, then its
 * verified bytes in data messages, each written only once the client's
 * connection has taken the one before.
 */
import * as grpc from "@grpc/grpc-js";
import { DATA_MESSAGE_BYTES } from "@pulsecheckpoint/proto/protocol";
import type {
  LoadCheckpointRequest__Output,
  LoadCheckpointResponse,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoints } from "../checkpoints/checkpoints.ts";
import { PulseError } from "../errors.ts";
import { checkpointOwnerOf } from "../keys.ts";
import { log } from "../log.ts";
import { checkpointBytesTotal, checkpointDurationSeconds } from "../metrics.ts";
import type { Guard } from "./auth.ts";
import { track } from "./call_metrics.ts";
import { checkpointMessage } from "./messages.ts";
import { toStatus } from "./status.ts";

type LoadCall = grpc.ServerWritableStream<LoadCheckpointRequest__Output, LoadCheckpointResponse>;

/** The LoadCheckpoint handler. */
export function loadCheckpointHandler(
  guard: Guard,
  checkpoints: Checkpoints,
  callBytesMax: number,
): grpc.handleServerStreamingCall<LoadCheckpointRequest__Output, LoadCheckpointResponse> {
  return (call) => {
    const done = track("LoadCheckpoint");
    load(guard, checkpoints, call, callBytesMax).then(
      () => {
        done(grpc.status.OK);
        call.end();
      },
      (error) => {
        const status = toStatus(error, "LoadCheckpoint");
        done(status.code);
        if (!call.destroyed) call.emit("error", status);
      },
    );
  };
}

async function load(
  guard: Guard,
  checkpoints: Checkpoints,
  call: LoadCall,
  callBytesMax: number,
): Promise<void> {
  const started = performance.now();
  const { worker_id: workerId, job_id: jobId, checkpoint_id: checkpointId, offset, length } =
    call.request;
  guard.check(call.metadata, "LoadCheckpoint", { worker_id: workerId, job_id: jobId });
  const { checkpoint, data } = await checkpoints.load(
    checkpointOwnerOf(workerId, jobId),
    checkpointId,
    { offset, length },
  );
  // Under Deno 2.8.3 a server stream's writes complete before their bytes are
  // sent, so a client that stops reading would make the runtime hold all it
  // asked for: one call may ask for a bounded window only.
  const asked = Math.min(length === 0 ? Infinity : length, checkpoint.sizeBytes - offset);
  if (asked > callBytesMax) {
    await data.return(undefined);
    throw new PulseError(
      "RESOURCE_EXHAUSTED",
      `Cannot load checkpoint ${checkpoint.checkpointId}: ${asked} bytes in one call, limit is ${callBytesMax} (server.load_call_bytes_max); ask for windows with offset and length, as the SDKs do`,
    );
  }
  await send(call, { checkpoint: checkpointMessage(checkpoint) });
  let sent = 0;
  for await (const chunk of data) {
    sent += chunk.length;
    for (let at = 0; at < chunk.length; at += DATA_MESSAGE_BYTES) {
      await send(call, { data: chunk.subarray(at, at + DATA_MESSAGE_BYTES) });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  checkpointBytesTotal.inc({ operation: "load", path: "stream" }, sent);
  checkpointDurationSeconds.observe({ operation: "load" }, seconds);
  log.info("pulse::checkpoint", "Checkpoint loaded", {
    worker_id: workerId,
    checkpoint_id: checkpoint.checkpointId,
    offset,
    size_bytes: sent,
    duration_ms: Math.round(seconds * 1000),
  });
}

// Writes one message, waiting while the client is slower than the store.
function send(call: LoadCall, message: LoadCheckpointResponse): Promise<void> {
  const left = () => new PulseError("ABORTED", "Cannot load checkpoint: the client left");
  if (call.cancelled || call.destroyed) return Promise.reject(left());
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      call.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      call.off("drain", onDrain);
      reject(left());
    };
    call.once("drain", onDrain);
    call.once("close", onClose);
  });
}
