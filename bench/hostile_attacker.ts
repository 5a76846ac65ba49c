/**
 * The hostile client of `bench/hostile_clients.ts`, in a process of its own
 * so that its work never runs on the measuring process's event loop: raw
 * `node:http2` streams to the runtime that each send part of a gRPC message
 * and then go silent, as no gRPC library would.
 *
 * Run: `deno run --allow-net --allow-read bench/hostile_attacker.ts JSON`,
 * where JSON is an {@linkcode AttackPlan}. It prints `ready` once every
 * stream has been opened and its bytes written, then holds the streams open
 * until a line arrives on standard input (or it closes), and prints one JSON
 * line: how each stream ended while it was held ({@linkcode StreamOutcome}).
 */
import http2 from "node:http2";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME, toStruct } from "@pulsecheckpoint/proto";

/** What to send. */
export interface AttackPlan {
  address: string;
  connections: number;
  streamsPerConnection: number;
  /**
   * `partial-first`: the first message (where the save header goes) is
   * announced as `messageBytes` long and all but its last byte is sent.
   * `header-then-partial`: a whole, valid header of worker `workers[i]`,
   * then a data message announced as `messageBytes`, all but its last byte.
   * `header-then-byte`: a valid header, then a data message of one byte.
   * `stalled-load`: a LoadCheckpoint of `workers[i]`'s latest checkpoint,
   * `messageBytes` from offset 0 (0 for all of it), whose response is never read.
   */
  mode: "partial-first" | "header-then-partial" | "header-then-byte" | "stalled-load";
  messageBytes: number;
  /** Worker ids for the headers, used round robin. */
  workers: string[];
  /** Sent as `authorization: Bearer <token>` when set. */
  token?: string;
}

/** How one stream ended while held, if it did. */
export interface StreamOutcome {
  /** grpc-status, or null if the stream was reset without one, or undefined if still open. */
  status?: number | null;
  message?: string;
  /** Milliseconds from the first write to the end. */
  endedMs?: number;
}

/** A gRPC length-prefixed message header: not compressed, `length` bytes follow. */
function prefix(length: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt32BE(length, 1);
  return bytes;
}

function headerMessage(workerId: string): Buffer {
  const service = loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition;
  const body = service.SaveCheckpoint!.requestSerialize({
    header: { worker_id: workerId, metadata: toStruct({}), expect_trailer: true },
  });
  return Buffer.concat([prefix(body.length), body]);
}

function loadRequest(workerId: string, length: number): Buffer {
  const service = loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition;
  const body = service.LoadCheckpoint!.requestSerialize({ worker_id: workerId, offset: 0, length });
  return Buffer.concat([prefix(body.length), body]);
}

function openStream(
  session: http2.ClientHttp2Session,
  plan: AttackPlan,
  index: number,
  filler: Buffer,
  started: number,
): StreamOutcome {
  const outcome: StreamOutcome = {};
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": `/${SERVICE_NAME}/${
      plan.mode === "stalled-load" ? "LoadCheckpoint" : "SaveCheckpoint"
    }`,
    "content-type": "application/grpc",
    te: "trailers",
  };
  if (plan.token !== undefined) headers.authorization = `Bearer ${plan.token}`;
  const stream = session.request(headers);
  const end = (fields: http2.IncomingHttpHeaders) => {
    if (outcome.status !== undefined || fields["grpc-status"] === undefined) return;
    outcome.status = Number(fields["grpc-status"]);
    outcome.message = decodeURIComponent(String(fields["grpc-message"] ?? ""));
    outcome.endedMs = performance.now() - started;
  };
  stream.on("response", end);
  stream.on("trailers", end);
  stream.on("error", () => {});
  const workerId = plan.workers[index % plan.workers.length]!;
  if (plan.mode === "stalled-load") {
    // No "data" listener: the response is never read, so the stream's
    // receive window is never given back and the runtime must hold the rest.
    stream.pause();
    stream.end(loadRequest(workerId, plan.messageBytes));
    return outcome;
  }
  stream.on("data", () => {});
  stream.on("close", () => {
    if (outcome.status !== undefined) return;
    outcome.status = null;
    outcome.message = `reset (code ${stream.rstCode})`;
    outcome.endedMs = performance.now() - started;
  });
  if (plan.mode !== "partial-first") {
    stream.write(headerMessage(workerId));
  }
  if (plan.mode === "header-then-byte") {
    stream.write(dataMessage(1));
  } else if (plan.mode === "header-then-partial") {
    // A data message whose encoding is `messageBytes` long, less its last byte.
    stream.write(dataMessage(plan.messageBytes - 4).subarray(0, 5 + plan.messageBytes - 1));
  } else {
    stream.write(prefix(plan.messageBytes));
    stream.write(filler.subarray(0, plan.messageBytes - 1));
  }
  return outcome;
}

// A whole `data` message of `bytes` ones, framed (the same bytes for every stream).
const dataMessages = new Map<number, Buffer>();
function dataMessage(bytes: number): Buffer {
  let framed = dataMessages.get(bytes);
  if (framed === undefined) {
    const service = loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition;
    const body = service.SaveCheckpoint!.requestSerialize({ data: Buffer.alloc(bytes, 1) });
    framed = Buffer.concat([prefix(body.length), body]);
    dataMessages.set(bytes, framed);
  }
  return framed;
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0]!) as AttackPlan;
  // One buffer of zeros that every stream sends from.
  const filler = Buffer.alloc(plan.mode === "stalled-load" ? 1 : Math.max(1, plan.messageBytes));
  const started = performance.now();
  const sessions: http2.ClientHttp2Session[] = [];
  const outcomes: StreamOutcome[] = [];
  for (let c = 0; c < plan.connections; c++) {
    const session = http2.connect(`http://${plan.address}`);
    session.on("error", () => {});
    sessions.push(session);
    for (let s = 0; s < plan.streamsPerConnection; s++) {
      outcomes.push(openStream(session, plan, c * plan.streamsPerConnection + s, filler, started));
    }
  }
  console.log("ready");
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  const result = outcomes.map((o) => ({ ...o }));
  for (const session of sessions) session.destroy();
  console.log(JSON.stringify(result));
  Deno.exit(0);
}
