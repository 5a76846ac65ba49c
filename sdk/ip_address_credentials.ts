/**
 * TLS to a runtime addressed by IP (`grpcs://127.0.0.1:50051`), which
 * grpc-js's own TLS credentials cannot reach under Deno or a current Node.
 *
 * grpc-js (1.14, `getConnectionOptions` in `channel-credentials.ts`) passes
 * the target's host to `tls.connect()` as `servername` whatever it is, so for
 * an IP address it asks for SNI with an IP in it, which RFC 6066 forbids.
 * Node 20 only warns (DEP0123); Deno 2.8.3's `node:tls` throws
 * `ERR_INVALID_ARG_VALUE: The property 'options.servername' must not be an IP
 * address`, and every connection attempt fails before a byte is sent. These
 * credentials make the same TLS connection without `servername`: no SNI, and
 * the certificate is verified against the IP address (`host`), as Python's
 * gRPC and grpcurl do. They plug into grpc-js as its own credentials do,
 * through `ChannelCredentials._createSecureConnector` and the
 * `experimental.SecureConnector` it returns.
 *
 * @module
 */
import type { Socket } from "node:net";
import { connect, type SecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";

/** Channel credentials of TLS without SNI, verifying the certificate against an IP address. */
export class IpAddressCredentials extends grpc.ChannelCredentials {
  #context: SecureContext;
  #address: string;

  /**
   * @param context the CA, and the client certificate and key for mutual TLS
   * @param address the IP address the runtime's certificate must list
   */
  constructor(context: SecureContext, address: string) {
    super();
    this.#context = context;
    this.#address = address;
  }

  /** @returns true: these credentials make TLS connections */
  _isSecure(): boolean {
    return true;
  }

  /**
   * @param other other credentials
   * @returns whether they are these (grpc-js shares connections between equal credentials)
   */
  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  /**
   * @param _target the channel's target; the address given to the constructor is verified
   * @param _options the channel's options
   * @param callCredentials per-call credentials to apply, if any
   * @returns what grpc-js calls to make each connection secure
   */
  _createSecureConnector(
    _target: grpc.experimental.GrpcUri,
    _options: grpc.ChannelOptions,
    callCredentials?: grpc.CallCredentials,
  ): grpc.experimental.SecureConnector {
    const credentials = callCredentials ?? grpc.credentials.createEmpty();
    return {
      connect: (socket) => this.#connect(socket),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => credentials,
      destroy: () => {},
    };
  }

  // What grpc-js's SecureConnectorImpl does, without `servername`.
  #connect(socket: Socket): Promise<grpc.experimental.SecureConnectResult> {
    return new Promise((resolve, reject) => {
      const secure = connect(
        // HTTP/2 by ALPN, as grpc-js asks; `host` is what the certificate is
        // verified against when there is no `servername`.
        { socket, secureContext: this.#context, host: this.#address, ALPNProtocols: ["h2"] },
        () => {
          if (!secure.authorized) {
            reject(secure.authorizationError);
            return;
          }
          resolve({ socket: secure, secure: true });
        },
      );
      secure.on("error", reject);
    });
  }
}
