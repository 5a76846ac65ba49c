/**
 * The channel under a {@linkcode Runtime}: the grpc-js client of
 * `pulse.v1.PulseRuntime`, typed with the contract's generated
 * `PulseRuntimeClient`, the metadata of every call, one attempt of a unary
 * call, retries of UNAVAILABLE with backoff and reconnect waits, and the
 * cancellation of every call in flight when the client closes.
 *
 * The twin of the Python SDK's `pulse/_channel.py`.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
import type {
  LoadCheckpointRequest,
  LoadCheckpointResponse__Output,
  PulseRuntimeClient,
  SaveCheckpointRequest,
  SaveCheckpointResponse__Output,
} from "@pulsecheckpoint/proto/types";
import { checkToken, connectionOf, type TlsOptions } from "./connection.ts";
import { type ConnectionAttempt, explainConnectionFailure } from "./connection_failure.ts";
import { PulseError, toPulseError } from "./pulse_error.ts";
import {
  isUnavailable,
  retrying,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
} from "./retry.ts";

/** Shortest reconnect backoff of the channel, whatever the retry policy. */
const RECONNECT_BACKOFF_MS_MIN = 10;
/** HTTP/2 receive window of the client's connections and streams. */
const RECEIVE_WINDOW_BYTES = 8 * 1024 * 1024;

type ClientMethod = Exclude<keyof PulseRuntimeClient, keyof grpc.Client>;
// The last overload of a unary method is `(argument, callback)`; a streaming
// method's second parameter is call options, or nothing.
type SecondParameter<M extends ClientMethod> = Parameters<PulseRuntimeClient[M]>[1];

/** The unary methods of `pulse.v1.PulseRuntime`, by their proto names. */
export type UnaryMethod = {
  [M in ClientMethod]: M extends Capitalize<M>
    ? SecondParameter<M> extends grpc.requestCallback<infer _> ? M : never
    : never;
}[ClientMethod];

/** The request message of a unary method, as the client sends it. */
export type RequestOf<M extends UnaryMethod> = Parameters<PulseRuntimeClient[M]>[0];

/** The response message of a unary method, as grpc-js decodes it. */
export type ResponseOf<M extends UnaryMethod> = SecondParameter<M> extends
  grpc.requestCallback<infer R> ? R : never;

type UnaryFunction<M extends UnaryMethod> = (
  request: RequestOf<M>,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<ResponseOf<M>>,
) => grpc.ClientUnaryCall;

/**
 * Options of a {@linkcode Runtime}.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * const rt = new Runtime("grpcs://pulse.example.com:443", {
 *   token: "secret-token",
 *   retry: { maxAttempts: 5 },
 * });
 * rt.close();
 * ```
 */
export interface RuntimeOptions {
  /** Sent as `authorization: Bearer <token>` with every call. */
  token?: string;
  /** TLS settings; only with a `grpcs://` address. */
  tls?: TlsOptions;
  /** How calls that fail with UNAVAILABLE are retried; `false` for never. */
  retry?: RetryOptions | false;
  /**
   * grpc-js channel options (`grpc.keepalive_time_ms`, ...), passed through;
   * they win over the SDK's own.
   */
  channelOptions?: Record<string, string | number>;
}

/** Per-call settings of a single attempt. */
export interface AttemptOptions {
  /** When grpc-js gives up on the call (DEADLINE_EXCEEDED). */
  deadline?: Date;
  /** Cancels the call when it aborts. */
  signal?: AbortSignal;
}

/**
 * The metadata sent with every call: the bearer token, if there is one.
 *
 * @param token the token, or undefined
 * @returns fresh metadata (grpc-js may change what it is given)
 */
export function callMetadata(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** A grpc-js client of the runtime, its calls in flight, and its retry policy. */
export class Channel {
  /** The retry policy of every retried call. */
  readonly retry: RetryPolicy;
  #client: PulseRuntimeClient;
  #token: string | undefined;
  #attempt: ConnectionAttempt;
  #calls = new Set<{ cancel(): void }>();
  #closing = new AbortController();

  /**
   * Makes the client; the connection opens with the first call.
   *
   * @param address `grpc://host:port`, `grpcs://host:port` or `host:port`
   * @param options token, TLS settings, retry policy, channel options
   * @throws {PulseError} INVALID_ARGUMENT for a bad address, token or option
   */
  constructor(address: string, options: RuntimeOptions) {
    const connection = connectionOf(address, options.tls);
    checkToken(options.token);
    this.#token = options.token;
    this.#attempt = connection.attempt;
    this.retry = retryPolicy(options.retry);
    const Client = grpc.makeGenericClientConstructor(
      loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition,
      SERVICE_NAME,
    );
    const reconnectMs = Math.max(RECONNECT_BACKOFF_MS_MIN, this.retry.initialDelayMs);
    // grpc-js builds the methods from the service definition at run time; the
    // generated interface is what they are.
    this.#client = new Client(connection.target, connection.credentials, {
      // The contract's limits: the runtime takes messages up to
      // REQUEST_BYTES_MAX (a data message and its framing), and sends up to
      // RESPONSE_BYTES_MAX (a chunk list; grpc-js defaults to 4 MiB received).
      "grpc.max_send_message_length": REQUEST_BYTES_MAX,
      "grpc.max_receive_message_length": RESPONSE_BYTES_MAX,
      // A load moves at most one receive window per round trip: HTTP/2's
      // 64 KiB would cap it at 6.4 MiB/s over 10 ms of RTT.
      "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
      // Reconnect at the pace of the retries: by default grpc-js waits 1 s
      // and up to 120 s, and fails calls at once meanwhile, so that retries
      // spaced 100 ms apart would all fail without a connection attempt.
      "grpc.initial_reconnect_backoff_ms": reconnectMs,
      "grpc.max_reconnect_backoff_ms": Math.max(reconnectMs, this.retry.maxDelayMs),
      ...connection.channelOptions,
      ...options.channelOptions,
    }) as unknown as PulseRuntimeClient;
  }

  /** Whether {@linkcode Channel.close} was called. */
  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /**
   * Throws if the channel is closed.
   *
   * @param action what was about to be done, for the message
   * @throws {PulseError} CANCELLED once closed
   */
  ensureOpen(action: string): void {
    if (this.closed) {
      throw new PulseError("CANCELLED", `Cannot ${action}: the Runtime client is closed`);
    }
  }

  /**
   * One unary call, retried on UNAVAILABLE as the retry policy says.
   *
   * @param action what the call does, for messages
   * @param method the method's proto name
   * @param request the request message
   * @returns the response message
   * @throws {PulseError} the last attempt's status
   */
  unary<M extends UnaryMethod>(
    action: string,
    method: M,
    request: RequestOf<M>,
  ): Promise<ResponseOf<M>> {
    return this.retrying(() => this.attempt(action, method, request));
  }

  /**
   * One attempt of a unary call.
   *
   * @param action what the call does, for messages
   * @param method the method's proto name
   * @param request the request message
   * @param options deadline and cancellation of this attempt
   * @returns the response message
   * @throws {PulseError} the call's status; CANCELLED when the channel is closed
   */
  attempt<M extends UnaryMethod>(
    action: string,
    method: M,
    request: RequestOf<M>,
    options: AttemptOptions = {},
  ): Promise<ResponseOf<M>> {
    return new Promise((resolve, reject) => {
      this.ensureOpen(action);
      const onAbort = () => call.cancel();
      const invoke = this.#client[method] as unknown as UnaryFunction<M>;
      const call = invoke.call(
        this.#client,
        request,
        callMetadata(this.#token),
        { deadline: options.deadline },
        (error, response) => {
          this.#calls.delete(call);
          options.signal?.removeEventListener("abort", onAbort);
          if (error) reject(this.error(action, error));
          else resolve(response!);
        },
      );
      this.#calls.add(call);
      if (options.signal?.aborted) call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Opens a SaveCheckpoint call, cancelled by {@linkcode Channel.close}.
   *
   * @param action what the call does, for messages
   * @param callback receives the call's status or response, once
   * @returns the call's request stream
   * @throws {PulseError} CANCELLED when the channel is closed
   */
  saveCall(
    action: string,
    callback: (error: unknown, response: SaveCheckpointResponse__Output | undefined) => void,
  ): grpc.ClientWritableStream<SaveCheckpointRequest> {
    this.ensureOpen(action);
    const call = this.#client.SaveCheckpoint(callMetadata(this.#token), (error, response) => {
      this.#calls.delete(call);
      callback(error === null ? undefined : this.error(action, error), response);
    });
    this.#calls.add(call);
    return call;
  }

  /**
   * Opens a LoadCheckpoint call, cancelled by {@linkcode Channel.close}.
   *
   * @param action what the call does, for messages
   * @param request the request message
   * @returns the call's response stream
   * @throws {PulseError} CANCELLED when the channel is closed
   */
  loadCall(
    action: string,
    request: LoadCheckpointRequest,
  ): grpc.ClientReadableStream<LoadCheckpointResponse__Output> {
    this.ensureOpen(action);
    const call = this.#client.LoadCheckpoint(request, callMetadata(this.#token));
    this.#calls.add(call);
    call.on("close", () => this.#calls.delete(call));
    return call;
  }

  /**
   * Turns what a call failed with into the error to report: a
   * {@linkcode PulseError} for a gRPC status, whose message, when no
   * connection could be made, names the address and the likely cause.
   *
   * @param action what the call does, for messages
   * @param error what the call failed with
   * @returns a PulseError, or `error` itself when it is not a gRPC status
   */
  error(action: string, error: unknown): unknown {
    const converted = toPulseError(error);
    if (!(converted instanceof PulseError)) return converted;
    return explainConnectionFailure(converted, this.#attempt, action);
  }

  /**
   * Runs `attempt` until it succeeds, fails with an error that is not
   * retryable, or has been tried as often as the retry policy allows.
   *
   * @param attempt one attempt; receives its number, 1 for the first
   * @returns what the successful attempt returned
   * @throws the last attempt's error
   */
  retrying<T>(attempt: (attempt: number) => Promise<T>): Promise<T> {
    return retrying(attempt, this.retry, {
      wait: (_retry, delayMs) => this.backOff(delayMs),
      retryable: (error) => this.retryable(error),
    });
  }

  /**
   * What every retry retries: UNAVAILABLE, unless the client is closing.
   *
   * @param error a failed attempt's error
   * @returns whether to try again
   */
  retryable(error: unknown): boolean {
    return isUnavailable(error) && !this.closed;
  }

  /**
   * Waits `delayMs`, then up to twice as long for the channel to reconnect,
   * so that the retry is not failed at once by a channel still backing off
   * (grpc-js's backoff grows by 1.6 with 20% jitter; ours by 2 with 50%).
   * Returns at once when the channel closes.
   *
   * @param delayMs the backoff
   */
  async backOff(delayMs: number): Promise<void> {
    const signal = this.#closing.signal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
    if (signal.aborted) return; // the next attempt reports the close
    await new Promise<void>((resolve) => {
      this.#client.waitForReady(Date.now() + 2 * delayMs, () => resolve());
    });
  }

  /** Cancels every call in flight (they reject with CANCELLED) and closes the connection. */
  close(): void {
    if (this.closed) return;
    this.#closing.abort();
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    this.#client.close();
  }
}
