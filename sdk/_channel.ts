/**
 * The channels under a {@linkcode Runtime}: a grpc-js client of
 * `pulse.v1.PulseRuntime` per address (the runtime's replicas), typed with
 * the contract's generated `PulseRuntimeClient`, with round-robin balancing
 * over the addresses a name resolves to; the metadata of every call, one
 * attempt of a unary call, the turn of the replicas, the move to the next one
 * and the retries of UNAVAILABLE with backoff and reconnect waits, and the
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
import { type DirectOptions, DirectState } from "./_direct.ts";
import { type ConnectionAttempt, explainConnectionFailure } from "./connection_failure.ts";
import { PulseError, toPulseError } from "./pulse_error.ts";
import {
  isUnavailable,
  retryDelayMs,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
} from "./retry.ts";

/** Shortest reconnect backoff of the channel, whatever the retry policy. */
const RECONNECT_BACKOFF_MS_MIN = 10;
/** HTTP/2 receive window of the client's connections and streams. */
const RECEIVE_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * A name that resolves to several addresses (DNS A/AAAA records) is used
 * round robin: each call goes to the next connected address, and one whose
 * connection fails is left out until it reconnects. grpc-js's default,
 * pick_first, would send every call to one.
 */
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

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
export interface RuntimeOptions extends DirectOptions {
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
  /**
   * Saves of one worker (or one rank of a job) in progress at once, 1 or
   * more; a further save waits for one to end, so that saves not awaited
   * hold a bounded amount of memory. Default 2, as in the Python SDK.
   */
  maxPendingSaves?: number;
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

/** One replica: its grpc-js client and what connecting to it tries. */
interface Replica {
  client: PulseRuntimeClient;
  attempt: ConnectionAttempt;
}

/**
 * The attempts of one call over the runtime's replicas (one per address), as
 * the Python SDK's `Attempts` counts them.
 *
 * A call starts on the replica whose turn it is and stays there while it
 * answers. When one answers UNAVAILABLE, the call moves on to the next at
 * once; when every replica has, in turn, that round is one failed attempt of
 * the retry policy, which says whether to wait and go round again. With one
 * address, each failure is a round. A call that makes progress between
 * failures (a load that received bytes) starts counting again.
 */
export class Attempts {
  #channel: Channel;
  #replicas: readonly Replica[];
  #rounds: number;
  #index: number;
  // Replicas tried in the round under way, the current one included.
  #tried = 1;
  /** The round under way, from 1: what the retry policy counts. */
  number = 1;
  /** Whether an earlier attempt of this call failed. */
  retried = false;

  /**
   * @param channel the channel, for its retry policy and backoff
   * @param replicas its replicas
   * @param first the index of the replica whose turn it is
   * @param rounds rounds over the replicas at most: the retry policy's attempts
   */
  constructor(channel: Channel, replicas: readonly Replica[], first: number, rounds: number) {
    this.#channel = channel;
    this.#replicas = replicas;
    this.#index = first;
    this.#rounds = rounds;
  }

  /** The index of the replica the next attempt goes to. */
  get index(): number {
    return this.#index;
  }

  /** The client of the replica the next attempt goes to. */
  get client(): PulseRuntimeClient {
    return this.#replicas[this.#index]!.client;
  }

  /**
   * Whether to try again after `error`: it is UNAVAILABLE (and the channel
   * open), a replica is left in this round or rounds are left, and `ready()`
   * (asked only then) says the next attempt can be made, e.g. the data read
   * again. Waits out the backoff, at the end of a round only, before it
   * resolves to true; the next attempt goes to the next replica.
   *
   * @param error what the attempt failed with
   * @param ready whether another attempt can be made
   * @returns whether to try again
   */
  async retry(error: unknown, ready: () => boolean = () => true): Promise<boolean> {
    if (!this.#channel.retryable(error)) return false;
    const roundOver = this.#tried >= this.#replicas.length;
    if (roundOver && this.number >= this.#rounds) return false;
    if (!ready()) return false;
    const next = (this.#index + 1) % this.#replicas.length;
    if (roundOver) {
      await this.#channel.backOff(retryDelayMs(this.number, this.#channel.retry), next);
      this.number++;
      this.#tried = 0;
    }
    this.#index = next;
    this.#tried++;
    this.retried = true;
    return true;
  }

  /** Counts the attempts from 1 again: the call got further (on the replica it is on). */
  progressed(): void {
    this.number = 1;
    this.#tried = 1;
  }
}

/**
 * The grpc-js clients of the runtime's replicas, one per address, their calls
 * in flight, the turn of the replicas, and the retry policy. The twin of the
 * Python SDK's `Channel`.
 */
export class Channel {
  /** The retry policy of every retried call. */
  readonly retry: RetryPolicy;
  /** The direct path's options and what is known of it. */
  readonly direct: DirectState;
  #replicas: readonly Replica[];
  #token: string | undefined;
  #turn = 0;
  #calls = new Set<{ cancel(): void }>();
  #closing = new AbortController();

  /**
   * Makes a client per address; connections open with the first call.
   *
   * @param addresses `grpc://host:port`, `grpcs://host:port` or `host:port`,
   * one per replica
   * @param options token, TLS settings, retry policy, channel options
   * @param targetOf the grpc-js target of an address's target: the target
   * itself, but for tests that name their own DNS server in it
   * (`dns://<server>/<host>:<port>`)
   * @throws {PulseError} INVALID_ARGUMENT for no address, a bad address,
   * token or option
   */
  constructor(
    addresses: readonly string[],
    options: RuntimeOptions,
    targetOf: (target: string) => string = (target) => target,
  ) {
    if (addresses.length === 0) {
      throw new PulseError("INVALID_ARGUMENT", "Cannot create Runtime: no address was given");
    }
    const connections = addresses.map((address) => connectionOf(address, options.tls));
    checkToken(options.token);
    this.#token = options.token;
    this.retry = retryPolicy(options.retry);
    this.direct = new DirectState(options);
    const Client = grpc.makeGenericClientConstructor(
      loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition,
      SERVICE_NAME,
    );
    const reconnectMs = Math.max(RECONNECT_BACKOFF_MS_MIN, this.retry.initialDelayMs);
    this.#replicas = connections.map((connection) => ({
      // grpc-js builds the methods from the service definition at run time;
      // the generated interface is what they are.
      client: new Client(targetOf(connection.target), connection.credentials, {
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
        "grpc.service_config": ROUND_ROBIN,
        // The SDK's policy holds: no service config is looked up in DNS (TXT records).
        "grpc.service_config_disable_resolution": 1,
        ...connection.channelOptions,
        ...options.channelOptions,
      }) as unknown as PulseRuntimeClient,
      attempt: connection.attempt,
    }));
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
   * A fresh count of attempts under the retry policy, starting on the
   * replica whose turn it is; the next call starts on the next.
   *
   * @param rounds rounds over the replicas at most; the retry policy's attempts by default
   * @returns the attempts of one call
   */
  attempts(rounds: number = this.retry.maxAttempts): Attempts {
    const first = this.#turn;
    this.#turn = (this.#turn + 1) % this.#replicas.length;
    return new Attempts(this, this.#replicas, first, rounds);
  }

  /**
   * One unary call on the replica whose turn it is, moved on to the others
   * and retried on UNAVAILABLE as {@linkcode Attempts} and the retry policy
   * say.
   *
   * @param action what the call does, for messages
   * @param method the method's proto name
   * @param request the request message
   * @param options deadline and cancellation of each attempt, and rounds at most
   * @returns the response message
   * @throws {PulseError} the last attempt's status
   */
  unary<M extends UnaryMethod>(
    action: string,
    method: M,
    request: RequestOf<M>,
    options: AttemptOptions & { rounds?: number } = {},
  ): Promise<ResponseOf<M>> {
    return this.retrying(
      (attempts) => this.attempt(action, method, request, attempts, options),
      () => true,
      options.rounds,
    );
  }

  /**
   * One attempt of a unary call, on the replica `attempts` is on.
   *
   * @param action what the call does, for messages
   * @param method the method's proto name
   * @param request the request message
   * @param attempts the call's attempts, for the replica
   * @param options deadline and cancellation of this attempt
   * @returns the response message
   * @throws {PulseError} the call's status; CANCELLED when the channel is closed
   */
  attempt<M extends UnaryMethod>(
    action: string,
    method: M,
    request: RequestOf<M>,
    attempts: Attempts,
    options: AttemptOptions = {},
  ): Promise<ResponseOf<M>> {
    return new Promise((resolve, reject) => {
      this.ensureOpen(action);
      const onAbort = () => call.cancel();
      const client = attempts.client;
      const index = attempts.index;
      const invoke = client[method] as unknown as UnaryFunction<M>;
      const call = invoke.call(
        client,
        request,
        callMetadata(this.#token),
        { deadline: options.deadline },
        (error, response) => {
          this.#calls.delete(call);
          options.signal?.removeEventListener("abort", onAbort);
          if (error) reject(this.error(action, error, index));
          else resolve(response!);
        },
      );
      this.#calls.add(call);
      if (options.signal?.aborted) call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Opens a SaveCheckpoint call on the replica `attempts` is on, cancelled by
   * {@linkcode Channel.close}.
   *
   * @param action what the call does, for messages
   * @param attempts the save's attempts, for the replica
   * @param callback receives the call's status or response, once
   * @returns the call's request stream
   * @throws {PulseError} CANCELLED when the channel is closed
   */
  saveCall(
    action: string,
    attempts: Attempts,
    callback: (error: unknown, response: SaveCheckpointResponse__Output | undefined) => void,
  ): grpc.ClientWritableStream<SaveCheckpointRequest> {
    this.ensureOpen(action);
    const index = attempts.index;
    const call = attempts.client.SaveCheckpoint(callMetadata(this.#token), (error, response) => {
      this.#calls.delete(call);
      callback(error === null ? undefined : this.error(action, error, index), response);
    });
    this.#calls.add(call);
    return call;
  }

  /**
   * Opens a LoadCheckpoint call on the replica `attempts` is on, cancelled by
   * {@linkcode Channel.close}.
   *
   * @param action what the call does, for messages
   * @param request the request message
   * @param attempts the load's attempts, for the replica
   * @returns the call's response stream
   * @throws {PulseError} CANCELLED when the channel is closed
   */
  loadCall(
    action: string,
    request: LoadCheckpointRequest,
    attempts: Attempts,
  ): grpc.ClientReadableStream<LoadCheckpointResponse__Output> {
    this.ensureOpen(action);
    const call = attempts.client.LoadCheckpoint(request, callMetadata(this.#token));
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
   * @param replica the index of the replica the call went to
   * @returns a PulseError, or `error` itself when it is not a gRPC status
   */
  error(action: string, error: unknown, replica: number): unknown {
    const converted = toPulseError(error);
    if (!(converted instanceof PulseError)) return converted;
    return explainConnectionFailure(converted, this.#replicas[replica]!.attempt, action);
  }

  /**
   * Runs `attempt` on the replica whose turn it is until it succeeds, fails
   * with an error that is not retryable, or has gone round the replicas as
   * often as the retry policy allows (see {@linkcode Attempts}).
   *
   * @param attempt one attempt; `attempts.client` is the replica to use
   * @param ready whether another attempt can be made (the data read again)
   * @param rounds rounds over the replicas at most; the retry policy's attempts by default
   * @returns what the successful attempt returned
   * @throws the last attempt's error
   */
  async retrying<T>(
    attempt: (attempts: Attempts) => Promise<T>,
    ready: () => boolean = () => true,
    rounds?: number,
  ): Promise<T> {
    const attempts = this.attempts(rounds);
    for (;;) {
      try {
        return await attempt(attempts);
      } catch (error) {
        if (!(await attempts.retry(error, ready))) throw error;
      }
    }
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
   * Waits `delayMs`, then up to twice as long for the replica the next
   * attempt goes to to reconnect, so that the retry is not failed at once by
   * a channel still backing off (grpc-js's backoff grows by 1.6 with 20%
   * jitter; ours by 2 with 50%). Returns at once when the channel closes.
   *
   * @param delayMs the backoff
   * @param replica the index of the replica the next attempt goes to
   */
  async backOff(delayMs: number, replica: number): Promise<void> {
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
      this.#replicas[replica]!.client.waitForReady(Date.now() + 2 * delayMs, () => resolve());
    });
  }

  /** Cancels every call in flight (they reject with CANCELLED) and closes the connections. */
  close(): void {
    if (this.closed) return;
    this.#closing.abort();
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    for (const replica of this.#replicas) replica.client.close();
  }
}
