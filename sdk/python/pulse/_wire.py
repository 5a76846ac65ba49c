"""Conversions between Python values and the wire messages: metadata to and from
``google.protobuf.Struct``, timestamps to ``datetime``.

``Struct`` carries JSON: numbers are doubles. Metadata going out must therefore
be JSON (``None``, ``bool``, ``int``, ``float``, ``str``, lists or tuples, and
mappings with ``str`` keys); integers beyond 2**53 and non-finite floats are
refused rather than silently changed. Numbers coming back that are whole (and
within 2**53) become ``int``, as a JSON parser would make them, so that
``{"epoch": 10}`` reads back as ``{"epoch": 10}``.

Metadata is refused over :data:`METADATA_BYTES_MAX`, measured as the runtime
measures it (``src/validation.ts``): the UTF-8 length of ``JSON.stringify`` of
the object the runtime decodes from the ``Struct``, so numbers are doubles
written as JavaScript writes them, and nothing separates the tokens.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Dict, List, Union

from decimal import Decimal

from google.protobuf import struct_pb2, timestamp_pb2

from ._errors import PulseError
from ._protocol import METADATA_BYTES_MAX

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


def metadata_struct(action: str, metadata: Metadata | None) -> struct_pb2.Struct:
    """The ``Struct`` of a metadata mapping, within :data:`METADATA_BYTES_MAX`
    as the runtime measures it; refused with the runtime's code and message
    otherwise, before anything is sent.

    Raises:
        PulseError: INVALID_ARGUMENT, ``Cannot <action>: metadata is N bytes, limit is 65536``.
        TypeError, ValueError: as :func:`to_struct`.
    """
    struct = to_struct(metadata)
    size = struct_json_bytes(struct)
    if size > METADATA_BYTES_MAX:
        message = f"Cannot {action}: metadata is {size} bytes, limit is {METADATA_BYTES_MAX}"
        raise PulseError("INVALID_ARGUMENT", message)
    return struct


def struct_json_bytes(struct: struct_pb2.Struct) -> int:
    """The UTF-8 length of ``JSON.stringify`` of the runtime's object of ``struct``
    (key order does not change it)."""
    fields = struct.fields
    members = sum(_string_json_bytes(key) + 1 + _value_json_bytes(value) for key, value in fields.items())
    return 2 + members + max(len(fields) - 1, 0)  # braces, then commas between members


def _value_json_bytes(value: struct_pb2.Value) -> int:
    kind = value.WhichOneof("kind")
    if kind == "bool_value":
        return 4 if value.bool_value else 5
    if kind == "number_value":
        return len(javascript_number(value.number_value))
    if kind == "string_value":
        return _string_json_bytes(value.string_value)
    if kind == "struct_value":
        return struct_json_bytes(value.struct_value)
    if kind == "list_value":
        values = value.list_value.values
        return 2 + sum(_value_json_bytes(item) for item in values) + max(len(values) - 1, 0)
    return 4  # null_value, or no kind at all, which the runtime also reads as null


def _string_json_bytes(text: str) -> int:
    # json.dumps without ensure_ascii escapes exactly what JSON.stringify does:
    # quote, backslash, and the control characters below U+0020 (the same
    # short forms, the others as \u00XX). Strings reach here as valid UTF-8,
    # so there are no lone surrogates, the one case where the two differ.
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def javascript_number(number: float) -> str:
    """A finite double as JavaScript writes it (``Number.prototype.toString``,
    ECMA-262 Number::toString): the shortest digits that read back as it, as
    Python's ``repr`` finds them, placed in decimal notation for exponents from
    -7 to 20 and in ``1.5e+21`` notation beyond; ``0`` for both zeros."""
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    exponent_tuple = Decimal(repr(abs(number))).as_tuple()
    digits = "".join(str(digit) for digit in exponent_tuple.digits).rstrip("0")
    exponent = int(exponent_tuple.exponent) + len(exponent_tuple.digits) - len(digits)
    # The value is digits × 10**exponent; point is where the decimal point
    # goes, counted from the left of the digits (ECMA-262's n; len(digits) is its k).
    point = len(digits) + exponent
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    power = point - 1
    mantissa = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


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
