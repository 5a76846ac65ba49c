"""When and how long the SDK waits before it tries a call again.

Only UNAVAILABLE is retried: the runtime (or the network) could not take the
call, and trying again is safe because every retried call is idempotent:
reads, registrations, heartbeats, and saves, which carry one idempotency key
across all their attempts.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

# The sleep of the backoff; tests replace it to run without waiting.
_sleep = time.sleep


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is tried when the runtime answers UNAVAILABLE.

    The names follow the runtime's ``[retry]`` configuration section. The delay
    before attempt ``n + 1`` is ``initial_delay_ms * 2**(n - 1)``, at most
    ``max_delay_ms``, times a random factor in [0.5, 1] so that many workers
    do not retry in step. Transfers of the direct path, between the client
    and the bucket, take the same attempts and backoff with full jitter: a
    random wait from 0 to that delay.

    ``RetryPolicy(max_attempts=1)`` turns retries off. With several addresses
    (replicas), an attempt is a round: a call answered UNAVAILABLE moves on to
    the next replica at once, without waiting, and only when every replica
    has failed it in turn is the round over and the wait taken; so even with
    retries off, a call tries each replica once.
    """

    #: Attempts in all, the first one included (at least 1); rounds over the replicas.
    max_attempts: int = 4
    #: Delay before the second attempt, in milliseconds.
    initial_delay_ms: int = 100
    #: Longest delay between two attempts, in milliseconds.
    max_delay_ms: int = 2000

    def __post_init__(self) -> None:
        """Checks the limits."""
        if self.max_attempts < 1:
            raise ValueError(f"Cannot make RetryPolicy: max_attempts is {self.max_attempts}, minimum is 1")
        if self.initial_delay_ms < 0 or self.max_delay_ms < 0:
            raise ValueError(
                f"Cannot make RetryPolicy: delays must not be negative, got "
                f"initial_delay_ms={self.initial_delay_ms}, max_delay_ms={self.max_delay_ms}"
            )

    def delay_seconds(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jitter included."""
        return self._backoff_seconds(attempt) * random.uniform(0.5, 1.0)

    def wait(self, attempt: int) -> None:
        """Sleeps for :meth:`delay_seconds` of ``attempt``."""
        _sleep(self.delay_seconds(attempt))

    def _backoff_seconds(self, attempt: int) -> float:
        """``initial_delay_ms * 2**(attempt - 1)``, at most ``max_delay_ms``, in seconds."""
        return min(float(self.max_delay_ms), self.initial_delay_ms * 2.0 ** (attempt - 1)) / 1000

    def full_jitter_seconds(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` of a transfer to or
        from the bucket (the direct path): the same backoff, with full jitter,
        a random wait from 0 to it, as S3 clients wait (many clients' requests
        to one bucket then spread out instead of coming back in waves)."""
        return random.uniform(0.0, self._backoff_seconds(attempt))

    def wait_full_jitter(self, attempt: int) -> None:
        """Sleeps for :meth:`full_jitter_seconds` of ``attempt``."""
        _sleep(self.full_jitter_seconds(attempt))
