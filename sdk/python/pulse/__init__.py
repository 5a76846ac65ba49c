"""The Python SDK of PulseCheckpoint Runtime.

Workers register, heartbeat, and save and load checkpoints through a
:class:`Runtime`; every failed call raises a :class:`PulseError` that carries
the gRPC status code name and the runtime's message.

Example::

    from pulse import Runtime

    rt = Runtime("grpc://localhost:50051")
    rt.register_worker("worker-1", metadata={"gpu": "A100", "memory": "80GB"})
    checkpoint_id = rt.save_checkpoint(
        worker_id="worker-1",
        data=b"model-state-bytes",
        metadata={"epoch": 10, "loss": 0.001},
    )
    assert rt.load_checkpoint("worker-1") == b"model-state-bytes"
    rt.close()
"""

from ._checkpoint_load import BinaryWriter
from ._checkpoint_save import BinaryReader
from ._connection import Pem, TlsOptions
from ._errors import PulseError
from ._protocol import CHUNK_BYTES, DATA_MESSAGE_BYTES, METADATA_BYTES_MAX, REQUEST_BYTES_MAX
from ._retry import RetryPolicy
from ._runtime import Runtime
from ._jobs import ShardData
from ._types import Checkpoint, Dataset, GcReport, Heartbeat, Shard, ShardRef, Step, StepState, Worker, WorkerState
from ._wire import JsonInput, JsonObject, JsonValue, Metadata

#: The version of this SDK.
__version__ = "0.1.0"

# The wire constants come from _protocol, generated from proto/protocol.ts;
# these two keep the names that earlier versions of the SDK exported.

#: Size of the data messages of saves and loads, and of the pieces read from a file.
MESSAGE_BYTES = DATA_MESSAGE_BYTES
#: Largest gRPC message the client sends: the largest the runtime accepts.
MESSAGE_BYTES_MAX = REQUEST_BYTES_MAX

__all__ = [
    "CHUNK_BYTES",
    "MESSAGE_BYTES",
    "MESSAGE_BYTES_MAX",
    "METADATA_BYTES_MAX",
    "BinaryReader",
    "BinaryWriter",
    "Checkpoint",
    "Dataset",
    "GcReport",
    "Heartbeat",
    "JsonInput",
    "JsonObject",
    "JsonValue",
    "Metadata",
    "Pem",
    "PulseError",
    "RetryPolicy",
    "Runtime",
    "Shard",
    "ShardData",
    "ShardRef",
    "Step",
    "StepState",
    "TlsOptions",
    "Worker",
    "WorkerState",
    "__version__",
]
