# syntax=docker/dockerfile:1
#
# PulseCheckpoint runtime image.
#
# Stage 1 compiles the runtime into one self-contained executable with the
# pinned Deno release; stage 2 carries only that executable, config.toml and
# curl (for HEALTHCHECK) on a slim Debian, running as an unprivileged user.
#
#   docker build -t pulsecheckpoint/runtime:dev .
#   docker run --rm -p 50051:50051 -p 9090:9090 pulsecheckpoint/runtime:dev

ARG DENO_VERSION=2.8.3

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src

# Dependencies first, so that a change to the sources does not download them
# again. The workspace members' deno.json are needed to resolve the workspace.
COPY deno.json deno.lock ./
COPY proto/deno.json proto/deno.json
COPY sdk/deno.json sdk/deno.json
RUN deno install --frozen

COPY main.ts config.toml ./
COPY proto/ proto/
COPY src/ src/
COPY sdk/ sdk/
RUN deno task compile \
 && mkdir -p /out/data \
 && cp dist/pulse-runtime config.toml /out/

FROM debian:bookworm-slim AS runtime

# curl is the health probe; ca-certificates lets the runtime reach AWS S3 over
# TLS. Versions are left to the bookworm security updates on purpose.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pulse \
 && useradd --system --uid 10001 --gid pulse --home-dir /app --shell /usr/sbin/nologin pulse

WORKDIR /app
COPY --from=build --chown=pulse:pulse /out/ /app/

# The runtime reads ./config.toml from its working directory; the embedded
# store (storage.backend = "fs", path = "./data") writes to /app/data.
VOLUME ["/app/data"]

# A container is reached from outside itself: listen on every interface. That
# needs [[auth.tokens]] (e.g. PULSE_AUTH_TOKENS from a secret), or
# PULSE_AUTH_ALLOW_ANONYMOUS=true where every caller may act as admin.
ENV PULSE_GRPC_ADDR=0.0.0.0:50051 \
    PULSE_METRICS_ADDR=0.0.0.0:9090

USER 10001:10001
EXPOSE 50051 9090

# /healthz is served on the metrics port (server.metrics_addr, 9090 here).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--max-time", "2", "http://127.0.0.1:9090/healthz"]

# SIGTERM starts a graceful drain (server.drain_timeout_ms).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/pulse-runtime"]
CMD ["serve"]
