/**
 * grpc-js's own output (its errors, and its traces under `GRPC_TRACE` and
 * `GRPC_VERBOSITY`) taken over from its default logger, which writes bare
 * lines to stderr: here every line goes where the caller says (the runtime:
 * its JSON log), and bearer tokens never reach it, whatever grpc-js prints
 * (its `server_call` trace prints every request header).
 */
import * as grpc from "@grpc/grpc-js";

/** Where grpc-js's lines go, by severity. */
export type GrpcLogSink = (severity: "error" | "info" | "debug", text: string) => void;

/** Sends grpc-js's output, redacted, to `sink` from now on. */
export function captureGrpcLogs(sink: GrpcLogSink): void {
  const line = (args: unknown[]) => redactSecrets(args.map(String).join(" ").trimEnd());
  grpc.setLogger({
    error: (...args: unknown[]) => sink("error", line(args)),
    info: (...args: unknown[]) => sink("info", line(args)),
    debug: (...args: unknown[]) => sink("debug", line(args)),
  } as Partial<Console>);
}

/**
 * `text` with the value of every `authorization` header and every bearer
 * token replaced by `[redacted]`.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(authorization["']?\s*[:=]\s*\[?\s*["']?)[^"'\]\n]*/gi, "$1[redacted]")
    .replace(/(bearer\s+)(?!\[redacted\])[^\s"',\]]+/gi, "$1[redacted]");
}
