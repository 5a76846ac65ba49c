"""The channel to the runtime and what every call goes through: the gRPC channel
with its message limits, the metadata sent with each call, the start of one
attempt, and the retries of UNAVAILABLE.

Saves (``_checkpoint_save.py``) and loads (``_checkpoint_load.py``) build their
calls from these pieces, as the TypeScript SDK's do from ``sdk/_channel.ts``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc

from ._connection import TlsOptions, call_metadata, connection_of
from ._errors import PulseError, from_rpc_error, status_code_of
from ._generated import pulse_pb2_grpc
from ._protocol import REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX
from ._retry import RetryPolicy

_T = TypeVar("_T")


class Attempts:
    """The attempts of one call: whether a failed one is tried again, and the
    wait before it. A call that makes progress between failures (a load that
    received bytes) starts counting again."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        #: The attempt under way, from 1.
        self.number = 1

    def retry(self, error: grpc.RpcError, ready: Callable[[], bool] = lambda: True) -> bool:
        """Whether to try again after ``error``: it is UNAVAILABLE, attempts are
        left, and ``ready()`` (called only then) could prepare the next one, e.g.
        rewind a file. Waits out the backoff before it returns ``True``."""
        if status_code_of(error) != grpc.StatusCode.UNAVAILABLE or self.number >= self._policy.max_attempts:
            return False
        if not ready():
            return False
        self._policy.wait(self.number)
        self.number += 1
        return True

    def progressed(self) -> None:
        """Counts the attempts from 1 again: the call got further."""
        self.number = 1


class Channel:
    """A gRPC channel to the runtime with the metadata, deadline and retry policy
    of a :class:`~pulse.Runtime`. Thread-safe, as gRPC channels are."""

    def __init__(
        self,
        address: str,
        *,
        token: str | None,
        tls: TlsOptions | None,
        timeout: float | None,
        retry: RetryPolicy,
        channel_options: Sequence[tuple[str, Any]],
    ) -> None:
        """Opens the channel; the connection is made on the first call.

        Raises:
            ValueError: a malformed address, ``tls`` with a plaintext address, a
                token that cannot be a header value.
        """
        connection = connection_of(address, tls)
        self._metadata = call_metadata(token)
        self._timeout = timeout
        self._retry = retry
        self._closed = False
        options: dict[str, Any] = {
            # The largest message the client sends is the largest the runtime
            # accepts (a data message and its framing): a bigger one fails here,
            # before it is sent.
            "grpc.max_send_message_length": REQUEST_BYTES_MAX,
            # The largest the runtime sends: the chunk list of the largest checkpoint.
            "grpc.max_receive_message_length": RESPONSE_BYTES_MAX,
            **connection.options,
        }
        options.update(dict(channel_options))
        if connection.credentials is None:
            self._channel = grpc.insecure_channel(connection.target, options=list(options.items()))
        else:
            self._channel = grpc.secure_channel(
                connection.target, connection.credentials, options=list(options.items())
            )
        # The generated stub is untyped; the request and response types come from pulse_pb2.pyi.
        self._stub: Any = pulse_pb2_grpc.PulseRuntimeStub(self._channel)  # type: ignore[no-untyped-call]

    @property
    def stub(self) -> Any:
        """The generated stub; its methods are looked up at each attempt."""
        return self._stub

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata of every call: the bearer token, if there is one."""
        return self._metadata

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Closes the channel; gRPC cancels every call in flight on it."""
        self._closed = True
        self._channel.close()

    def attempts(self) -> Attempts:
        """A fresh count of attempts under the retry policy."""
        return Attempts(self._retry)

    def check_open(self, action: str) -> None:
        """Raises PulseError CANCELLED if the channel is closed: before a call,
        and after a failure, which closing the channel may have caused."""
        if self._closed:
            raise PulseError("CANCELLED", f"Cannot {action}: the Runtime is closed") from None

    def start(self, action: str, begin: Callable[[], _T]) -> _T:
        """Begins one attempt of a call with ``begin()``, as CANCELLED if the
        channel is closed, before or meanwhile (gRPC then raises ValueError)."""
        self.check_open(action)
        try:
            return begin()
        except ValueError:
            self.check_open(action)
            raise

    def unary(
        self,
        action: str,
        method: str,
        request: object,
        *,
        gone_after_retry: Callable[[], _T] | None = None,
    ) -> Any:
        """Calls the unary ``method`` of the stub, retrying UNAVAILABLE as the
        retry policy says, and returns its response.

        For a delete, NOT_FOUND after a retry means that an earlier attempt
        deleted the thing and its answer was lost: that is success, and
        ``gone_after_retry()`` is the answer.

        Raises:
            PulseError: the call failed, with its status code name.
        """
        attempts = self.attempts()
        while True:
            try:
                return self.start(
                    action, lambda: getattr(self._stub, method)(request, timeout=self._timeout, metadata=self._metadata)
                )
            except grpc.RpcError as error:
                self.check_open(action)
                gone = status_code_of(error) == grpc.StatusCode.NOT_FOUND and attempts.number > 1
                if gone and gone_after_retry is not None:
                    return gone_after_retry()
                if not attempts.retry(error):
                    raise from_rpc_error(error) from None
