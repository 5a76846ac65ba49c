"""How a :class:`~pulse.Runtime` reaches the runtime: the address schemes
(``grpc://`` plaintext, ``grpcs://`` TLS), the TLS material, and the bearer
token sent with every call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

import grpc

#: PEM text, or its bytes.
Pem = Union[str, bytes]

_ADDRESS = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"  # grpc:// or grpcs://, or none
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:?#@\[\]\s]+)"  # a name, IPv4, or [IPv6]
    r":(?P<port>\d{1,5})"
)
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class TlsOptions:
    """TLS settings of a ``grpcs://`` address. Without any, the system's trusted
    roots verify the runtime's certificate.

    Example (mutual TLS against a private CA)::

        tls = TlsOptions(
            ca=open("ca.pem", "rb").read(),
            cert=open("worker.pem", "rb").read(),
            key=open("worker-key.pem", "rb").read(),
        )
        rt = Runtime("grpcs://pulse.internal:50051", tls=tls)
    """

    #: Root certificates (PEM) that verify the runtime's certificate, in place of the system's.
    ca: Pem | None = None
    #: The client's certificate chain (PEM), for mutual TLS; needs ``key``.
    cert: Pem | None = None
    #: The client's private key (PEM), for mutual TLS; needs ``cert``.
    key: Pem | None = None
    #: The name to verify the runtime's certificate against, when it is not the address's host.
    server_name: str | None = None


@dataclass(frozen=True)
class Connection:
    """Where and how to connect, worked out from an address and options."""

    #: The gRPC target, e.g. ``dns:///localhost:50051``.
    target: str
    #: ``None`` for plaintext.
    credentials: grpc.ChannelCredentials | None
    #: Channel arguments the connection needs (the TLS server name).
    options: dict[str, Any]


def connection_of(address: str, tls: TlsOptions | None) -> Connection:
    """The target and credentials of ``grpc://host:port``, ``grpcs://host:port``
    or ``host:port`` (plaintext).

    Raises:
        ValueError: an address of another form, or TLS options with a plaintext address.
    """
    if not isinstance(address, str):
        raise TypeError(f"Cannot open Runtime: address is {type(address).__name__}, expected str")
    match = _ADDRESS.fullmatch(address)
    scheme = (match.group("scheme") or "grpc").lower() if match else None
    if match is None or scheme not in ("grpc", "grpcs") or int(match.group("port")) > 65535:
        raise ValueError(
            f"Cannot open Runtime: address {address!r} is not grpc://host:port or grpcs://host:port"
        )
    # The dns resolver, named: a name resolves to all its addresses (and an IP
    # literal to itself), which the channel balances round robin.
    target = f"dns:///{match.group('host')}:{match.group('port')}"
    if scheme == "grpc":
        if tls is not None:
            raise ValueError(f"Cannot open Runtime: tls was given for the plaintext address {address!r}; use grpcs://")
        return Connection(target=target, credentials=None, options={})
    tls = tls if tls is not None else TlsOptions()
    if (tls.cert is None) != (tls.key is None):
        raise ValueError("Cannot open Runtime: tls.cert and tls.key must be given together")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_bytes_of(tls.ca),
        private_key=_bytes_of(tls.key),
        certificate_chain=_bytes_of(tls.cert),
    )
    options: dict[str, Any] = {}
    if tls.server_name is not None:
        # Verify the certificate against this name, and send it as SNI and :authority.
        options["grpc.ssl_target_name_override"] = tls.server_name
        options["grpc.default_authority"] = tls.server_name
    return Connection(target=target, credentials=credentials, options=options)


def call_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata sent with every call: the bearer token, if there is one.

    Raises:
        ValueError: an empty token, or one with characters a header value cannot carry.
    """
    if token is None:
        return ()
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ValueError("Cannot open Runtime: token must be 1 or more printable ASCII characters without spaces")
    return (("authorization", f"Bearer {token}"),)


def _bytes_of(pem: Pem | None) -> bytes | None:
    if pem is None:
        return None
    return pem.encode("utf-8") if isinstance(pem, str) else bytes(pem)
