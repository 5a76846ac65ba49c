"""The channels to the runtime and what every call goes through: a gRPC channel
per address (the runtime's replicas) with its message limits and round-robin
balancing, the metadata sent with each call, the start of one attempt, and
the move to another replica or the retry after UNAVAILABLE.

Saves (``_checkpoint_save.py``) and loads (``_checkpoint_load.py``) build their
calls from these pieces, as the TypeScript SDK's do from ``sdk/_channel.ts``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import grpc

from ._connection import Connection, TlsOptions, call_metadata, connection_of
from ._errors import PulseError, from_rpc_error, status_code_of
from ._generated import pulse_pb2_grpc
from ._protocol import REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX
from ._retry import RetryPolicy

_T = TypeVar("_T")

_ROUND_ROBIN = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


class Attempts:
    """The attempts of one call over the runtime's replicas (one per address).

    A call starts on the replica whose turn it is and stays there while it
    answers. When one answers UNAVAILABLE, the call moves on to the next at
    once; when every replica has, in turn, that round is one failed attempt of
    the retry policy, which says whether to wait and go round again. With one
    address, each failure is a round. A call that makes progress between
    failures (a load that received bytes) starts counting again.
    """

    def __init__(self, policy: RetryPolicy, stubs: Sequence[Any], first: int) -> None:
        assert stubs and 0 <= first < len(stubs)
        self._policy = policy
        self._stubs = stubs
        self._index = first
        # Replicas tried in the round under way, the current one included.
        self._tried = 1
        #: The round under way, from 1: what the retry policy counts.
        self.number = 1
        #: Whether an earlier attempt of this call failed.
        self.retried = False

    @property
    def stub(self) -> Any:
        """The stub of the replica the next attempt goes to."""
        return self._stubs[self._index]

    def retry(self, error: grpc.RpcError, ready: Callable[[], bool] = lambda: True) -> bool:
        """Whether to try again after ``error``: it is UNAVAILABLE, a replica is
        left in this round or rounds are left, and ``ready()`` (called only
        then) could prepare the next attempt, e.g. rewind a file. Waits out the
        backoff, at the end of a round only, before it returns ``True``; the
        next attempt goes to the next replica."""
        if status_code_of(error) != grpc.StatusCode.UNAVAILABLE:
            return False
        round_over = self._tried >= len(self._stubs)
        if round_over and self.number >= self._policy.max_attempts:
            return False
        if not ready():
            return False
        if round_over:
            self._policy.wait(self.number)
            self.number += 1
            self._tried = 0
        self._index = (self._index + 1) % len(self._stubs)
        self._tried += 1
        self.retried = True
        return True

    def progressed(self) -> None:
        """Counts the attempts from 1 again: the call got further (on the replica it is on)."""
        self.number = 1
        self._tried = 1


class Channel:
    """gRPC channels to the runtime's replicas, one per address, with the
    metadata, deadline and retry policy of a :class:`~pulse.Runtime`. Calls
    take the replicas in turn. Thread-safe, as gRPC channels are."""

    def __init__(
        self,
        addresses: Sequence[str],
        *,
        token: str | None,
        tls: TlsOptions | None,
        timeout: float | None,
        retry: RetryPolicy,
        channel_options: Sequence[tuple[str, Any]],
    ) -> None:
        """Opens a channel to each address; connections are made on the first call.

        Raises:
            ValueError: no address, a malformed one, ``tls`` with a plaintext
                address, a token that cannot be a header value.
        """
        if not addresses:
            raise ValueError("Cannot open Runtime: no address was given")
        connections = [connection_of(address, tls) for address in addresses]
        self._metadata = call_metadata(token)
        self._timeout = timeout
        self._retry = retry
        self._closed = False
        self._channels = tuple(_open(connection, channel_options) for connection in connections)
        # The generated stub is untyped; the request and response types come from pulse_pb2.pyi.
        self._stubs: tuple[Any, ...] = tuple(
            pulse_pb2_grpc.PulseRuntimeStub(channel)  # type: ignore[no-untyped-call]
            for channel in self._channels
        )
        # Whose turn it is. next() of an itertools.count is atomic (one C call
        # under the GIL), so threads sharing the Runtime take distinct turns.
        self._turns = itertools.count()

    @property
    def stubs(self) -> tuple[Any, ...]:
        """The generated stubs, one per address; their methods are looked up at each attempt."""
        return self._stubs

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy of the Runtime; transfers of the direct path follow it too."""
        return self._retry

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata of every call: the bearer token, if there is one."""
        return self._metadata

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Closes the channels; gRPC cancels every call in flight on them."""
        self._closed = True
        for channel in self._channels:
            channel.close()

    def attempts(self) -> Attempts:
        """A fresh count of attempts under the retry policy, starting on the
        replica whose turn it is."""
        return Attempts(self._retry, self._stubs, next(self._turns) % len(self._stubs))

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
        timeout: float | None | Literal["channel"] = "channel",
    ) -> Any:
        """Calls the unary ``method`` on the replica whose turn it is, moving on
        to the others and retrying UNAVAILABLE as :class:`Attempts` and the
        retry policy say, and returns its response.

        For a delete, NOT_FOUND after a retry means that an earlier attempt
        deleted the thing and its answer was lost (replicas share their
        store): that is success, and
        ``gone_after_retry()`` is the answer.

        ``timeout`` is each attempt's deadline in seconds (``None`` for none);
        the Runtime's ``timeout`` unless given, for a call that waits on the
        runtime's own deadline (CommitStep).

        Raises:
            PulseError: the call failed, with its status code name.
        """
        attempts = self.attempts()
        deadline = self._timeout if timeout == "channel" else timeout
        while True:
            try:
                return self.start(
                    action, lambda: getattr(attempts.stub, method)(request, timeout=deadline, metadata=self._metadata)
                )
            except grpc.RpcError as error:
                self.check_open(action)
                gone = status_code_of(error) == grpc.StatusCode.NOT_FOUND and attempts.retried
                if gone and gone_after_retry is not None:
                    return gone_after_retry()
                if not attempts.retry(error):
                    raise from_rpc_error(error) from None


def _open(connection: Connection, channel_options: Sequence[tuple[str, Any]]) -> grpc.Channel:
    """A gRPC channel to one address: the SDK's options, the connection's, then the caller's."""
    options: dict[str, Any] = {
        # The largest message the client sends is the largest the runtime
        # accepts (a data message and its framing): a bigger one fails here,
        # before it is sent.
        "grpc.max_send_message_length": REQUEST_BYTES_MAX,
        # The largest the runtime sends: the chunk list of the largest checkpoint.
        "grpc.max_receive_message_length": RESPONSE_BYTES_MAX,
        # A name that resolves to several addresses (DNS A/AAAA records) is
        # used round robin: each call goes to the next address that is
        # connected, and one whose connection fails is left out until it
        # reconnects. gRPC's default, pick_first, would send every call to one.
        "grpc.service_config": _ROUND_ROBIN,
        # The SDK's policy holds: no service config is looked up in DNS (TXT records).
        "grpc.service_config_disable_resolution": 1,
        **connection.options,
    }
    options.update(dict(channel_options))
    if connection.credentials is None:
        return grpc.insecure_channel(connection.target, options=list(options.items()))
    return grpc.secure_channel(connection.target, connection.credentials, options=list(options.items()))
