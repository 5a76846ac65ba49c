"""The one exception type of the SDK, and the translation of gRPC errors into it."""

from __future__ import annotations

import grpc


class PulseError(Exception):
    """A call to the runtime failed.

    Attributes:
        code: the gRPC status code name, e.g. ``"NOT_FOUND"``, ``"INVALID_ARGUMENT"``,
            ``"UNAVAILABLE"``, ``"DATA_LOSS"`` (the names of :class:`grpc.StatusCode`).
        message: the runtime's message, e.g.
            ``"Cannot save checkpoint: worker w-1 is not registered"``.

    ``str(error)`` is ``"<code>: <message>"``.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        """Makes an error with a gRPC status code name and a message."""
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        """``"<code>: <message>"``."""
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        """``PulseError('<code>', '<message>')``."""
        return f"PulseError({self.code!r}, {self.message!r})"


def from_rpc_error(error: grpc.RpcError) -> PulseError:
    """The :class:`PulseError` of a failed gRPC call (a ``grpc.RpcError`` that is a ``grpc.Call``)."""
    code_of = getattr(error, "code", None)
    details_of = getattr(error, "details", None)
    code = code_of() if callable(code_of) else None
    details = details_of() if callable(details_of) else None
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    return PulseError(name, details if isinstance(details, str) and details else str(error))


def status_code_of(error: grpc.RpcError) -> grpc.StatusCode | None:
    """The status code of a failed gRPC call, if it has one."""
    code_of = getattr(error, "code", None)
    code = code_of() if callable(code_of) else None
    return code if isinstance(code, grpc.StatusCode) else None
