"""TLS, mutual TLS and bearer tokens against real runtime processes configured
for them (certificates from scripts/generate_certs.sh, tokens in config.toml),
and the checks the SDK makes of addresses, TLS options and tokens."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse import PulseError, RetryPolicy, Runtime, TlsOptions
from runtime_process import REPO_DIR, RuntimeProcess, start_runtime

NO_RETRY = RetryPolicy(max_attempts=1)
TOKENS = {"admin": "admin-secret-1", "team_a": "team-a-secret-2", "reader": "reader-secret-3"}
TLS_ENV = {"PULSE_TLS_CERT": "certs/server.pem", "PULSE_TLS_KEY": "certs/server.key"}


def runtime_dir(directory: Path, config_toml: str = "") -> Path:
    """A working directory with certificates in certs/ and the given config.toml."""
    subprocess.run(
        ["bash", str(REPO_DIR / "scripts" / "generate_certs.sh"), str(directory / "certs")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (directory / "config.toml").write_text(config_toml, encoding="utf-8")
    return directory


def pem(directory: Path, name: str) -> bytes:
    return (directory / "certs" / name).read_bytes()


def code_of(call: object) -> str:
    with pytest.raises(PulseError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


@pytest.fixture(scope="module")
def tls_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    runtime = start_runtime(runtime_dir(tmp_path_factory.mktemp("tls")), TLS_ENV)
    yield runtime
    assert runtime.stop() == 0


@pytest.fixture(scope="module")
def mtls_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    directory = runtime_dir(tmp_path_factory.mktemp("mtls"))
    runtime = start_runtime(directory, {**TLS_ENV, "PULSE_TLS_CLIENT_CA": "certs/ca.pem"})
    yield runtime
    assert runtime.stop() == 0


@pytest.fixture(scope="module")
def token_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    def sha256(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    config = f"""
[[auth.tokens]]
name = "ops"
sha256 = "{sha256(TOKENS["admin"])}"
role = "admin"

[[auth.tokens]]
name = "team-a"
sha256 = "{sha256(TOKENS["team_a"])}"
role = "worker"
workers = "team-a-*"

[[auth.tokens]]
name = "dashboards"
sha256 = "{sha256(TOKENS["reader"])}"
role = "reader"
"""
    runtime = start_runtime(runtime_dir(tmp_path_factory.mktemp("tokens"), config))
    yield runtime
    assert runtime.stop() == 0


def tls_address(runtime: RuntimeProcess) -> str:
    return f"grpcs://{runtime.grpc_address}"


def test_tls_clients_that_trust_the_ca_are_served(tls_runtime: RuntimeProcess) -> None:
    ca = pem(tls_runtime.directory, "ca.pem")
    with Runtime(tls_address(tls_runtime), tls=TlsOptions(ca=ca), retry=NO_RETRY) as rt:
        rt.register_worker("w1")
        checkpoint_id = rt.save_checkpoint(worker_id="w1", data=b"over TLS" * 200_000)
        assert rt.load_checkpoint("w1", checkpoint_id) == b"over TLS" * 200_000
    # The CA as text works too, and a server name other than the address's host.
    port = tls_runtime.grpc_address.rsplit(":", 1)[1]
    tls = TlsOptions(ca=ca.decode(), server_name="localhost")
    with Runtime(f"grpcs://127.0.0.1:{port}", tls=tls, retry=NO_RETRY) as rt:
        assert rt.get_worker("w1").worker_id == "w1"


def test_tls_refuses_plaintext_and_untrusted_clients(tls_runtime: RuntimeProcess) -> None:
    with Runtime(tls_runtime.address, retry=NO_RETRY, timeout=10) as plain:
        assert code_of(lambda: plain.heartbeat("w1")) == "UNAVAILABLE"
    # Without the CA, the system's roots do not trust the development CA.
    with Runtime(tls_address(tls_runtime), retry=NO_RETRY, timeout=10) as untrusting:
        assert code_of(lambda: untrusting.heartbeat("w1")) == "UNAVAILABLE"


def test_mutual_tls_needs_a_client_certificate_signed_by_the_client_ca(
    mtls_runtime: RuntimeProcess, tmp_path: Path
) -> None:
    directory = mtls_runtime.directory
    ca = pem(directory, "ca.pem")
    with_cert = TlsOptions(ca=ca, cert=pem(directory, "client.pem"), key=pem(directory, "client.key"))
    with Runtime(tls_address(mtls_runtime), tls=with_cert, retry=NO_RETRY) as rt:
        rt.register_worker("w1")
        assert rt.load_checkpoint("w1", rt.save_checkpoint(worker_id="w1", data=b"mtls")) == b"mtls"
    with Runtime(tls_address(mtls_runtime), tls=TlsOptions(ca=ca), retry=NO_RETRY, timeout=10) as rt:
        assert code_of(lambda: rt.heartbeat("w1")) == "UNAVAILABLE"
    stranger_dir = runtime_dir(tmp_path)  # a client certificate of another CA
    stranger = TlsOptions(ca=ca, cert=pem(stranger_dir, "client.pem"), key=pem(stranger_dir, "client.key"))
    with Runtime(tls_address(mtls_runtime), tls=stranger, retry=NO_RETRY, timeout=10) as rt:
        assert code_of(lambda: rt.heartbeat("w1")) == "UNAVAILABLE"


def test_tokens_unknown_or_missing_are_unauthenticated(token_runtime: RuntimeProcess) -> None:
    with Runtime(token_runtime.address, retry=NO_RETRY) as anonymous:
        assert code_of(lambda: anonymous.register_worker("team-a-1")) == "UNAUTHENTICATED"
        assert code_of(lambda: anonymous.save_checkpoint(worker_id="team-a-1", data=b"x")) == "UNAUTHENTICATED"
    with Runtime(token_runtime.address, token="not-a-token", retry=NO_RETRY) as forged:
        assert code_of(lambda: list(forged.list_datasets())) == "UNAUTHENTICATED"
        assert code_of(lambda: forged.load_checkpoint("team-a-1")) == "UNAUTHENTICATED"


def test_a_worker_token_acts_for_its_own_workers_only(token_runtime: RuntimeProcess) -> None:
    with Runtime(token_runtime.address, token=TOKENS["team_a"], retry=NO_RETRY) as team_a:
        team_a.register_worker("team-a-1")
        checkpoint_id = team_a.save_checkpoint(worker_id="team-a-1", data=b"mine")
        assert team_a.load_checkpoint("team-a-1") == b"mine"
        with pytest.raises(PulseError) as caught:
            team_a.register_worker("team-b-1")
        assert caught.value.code == "PERMISSION_DENIED"
        assert "team-a-*" in caught.value.message
        assert code_of(lambda: team_a.save_checkpoint(worker_id="team-b-1", data=b"x")) == "PERMISSION_DENIED"
    with Runtime(token_runtime.address, token=TOKENS["reader"], retry=NO_RETRY) as reader:
        assert reader.load_checkpoint("team-a-1", checkpoint_id) == b"mine"
        assert code_of(lambda: reader.save_checkpoint(worker_id="team-a-1", data=b"x")) == "PERMISSION_DENIED"
        assert code_of(lambda: reader.run_gc(dry_run=True)) == "PERMISSION_DENIED"
    with Runtime(token_runtime.address, token=TOKENS["admin"], retry=NO_RETRY) as admin:
        assert [c.checkpoint_id for c in admin.list_checkpoints("team-a-1")] == [checkpoint_id]
        assert admin.run_gc(dry_run=True).dry_run is True


@pytest.mark.parametrize(
    ("address", "options"),
    [
        ("http://localhost:50051", {}),
        ("grpc://", {}),
        ("", {}),
        ("localhost", {}),
        ("grpc://localhost:50051/path", {}),
        ("grpc://localhost:99999", {}),
        ("grpc://localhost:50051", {"tls": TlsOptions()}),
        ("grpcs://localhost:50051", {"tls": TlsOptions(cert=b"only a cert")}),
        ("grpc://localhost:50051", {"token": "has space"}),
        ("grpc://localhost:50051", {"token": ""}),
    ],
)
def test_bad_addresses_tls_options_and_tokens_are_value_errors(address: str, options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="Cannot open Runtime"):
        Runtime(address, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["grpc://localhost:1", "localhost:1", "grpcs://[::1]:1", "GRPC://host.example:65535"])
def test_good_addresses_are_accepted(address: str) -> None:
    Runtime(address).close()
