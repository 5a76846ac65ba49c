"""Conversions between Python values and the wire messages: metadata to and from
``google.protobuf.Struct``, timestamps to ``datetime``.

``Struct`` carries JSON: numbers are doubles. Metadata going out must therefore
be JSON (``None``, ``bool``, ``int``, ``float``, ``str``, lists or tuples, and
mappings with ``str`` keys); integers beyond 2**53 and non-finite floats are
refused rather than silently changed. Numbers coming back that are whole (and
within 2**53) become ``int``, as a JSON parser would make them, so that
``{"epoch": 10}`` reads back as ``{"epoch": 10}``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Dict, List, Union

from google.protobuf import struct_pb2, timestamp_pb2

#: A JSON value as the SDK returns it.
JsonValue = Union[None, bool, int, float, str, List["JsonValue"], Dict[str, "JsonValue"]]
#: A JSON object as the SDK returns it (metadata of workers, datasets, checkpoints).
JsonObject = Dict[str, JsonValue]
#: A JSON value as the SDK accepts it: any sequence or mapping will do.
JsonInput = Union[None, bool, int, float, str, Sequence["JsonInput"], Mapping[str, "JsonInput"]]
#: Metadata as the SDK accepts it: a mapping of ``str`` to JSON values.
Metadata = Mapping[str, JsonInput]

# Integers a double holds exactly.
_SAFE_INTEGER_MAX = 2**53


def to_struct(metadata: Metadata | None) -> struct_pb2.Struct:
    """The ``Struct`` of a metadata mapping (an empty one for ``None``).

    Raises:
        TypeError: a key is not ``str`` or a value is not JSON.
        ValueError: a number is not finite or an integer is beyond 2**53.
    """
    struct = struct_pb2.Struct()
    if metadata is None:
        return struct
    if not isinstance(metadata, Mapping):
        raise TypeError(f"Cannot convert metadata: expected a mapping, got {type(metadata).__name__}")
    _fill_struct(struct, metadata, "metadata")
    return struct


def _fill_struct(struct: struct_pb2.Struct, mapping: Mapping[Any, object], path: str) -> None:
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"Cannot convert metadata: key {key!r} in {path} is {type(key).__name__}, not str")
        _fill_value(struct.fields[key], value, f"{path}[{key!r}]")


def _fill_value(target: struct_pb2.Value, value: object, path: str) -> None:
    # bool before numbers: bool is an int subclass.
    if value is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, numbers.Integral):
        number = int(value)
        if abs(number) > _SAFE_INTEGER_MAX:
            raise ValueError(
                f"Cannot convert metadata: {path} is {number}, beyond 2**53, which JSON numbers cannot hold exactly"
            )
        target.number_value = float(number)
    elif isinstance(value, numbers.Real):
        number_float = float(value)
        if not math.isfinite(number_float):
            raise ValueError(f"Cannot convert metadata: {path} is {number_float}, which JSON cannot hold")
        target.number_value = number_float
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, Mapping):
        target.struct_value.SetInParent()
        _fill_struct(target.struct_value, value, path)
    elif isinstance(value, (list, tuple)):
        target.list_value.SetInParent()
        for index, item in enumerate(value):
            _fill_value(target.list_value.values.add(), item, f"{path}[{index}]")
    else:
        raise TypeError(
            f"Cannot convert metadata: {path} is {type(value).__name__}; "
            "expected None, bool, int, float, str, list, tuple or a mapping"
        )


def from_struct(struct: struct_pb2.Struct) -> JsonObject:
    """The ``dict`` of a ``Struct``."""
    return {key: from_value(value) for key, value in struct.fields.items()}


def from_value(value: struct_pb2.Value) -> JsonValue:
    """The Python value of a ``google.protobuf.Value``."""
    kind = value.WhichOneof("kind")
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) <= _SAFE_INTEGER_MAX:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [from_value(item) for item in value.list_value.values]
    return None


def from_timestamp(timestamp: timestamp_pb2.Timestamp) -> datetime:
    """The UTC ``datetime`` of a ``Timestamp`` (microsecond precision)."""
    return timestamp.ToDatetime(tzinfo=timezone.utc)
