"""Validate a request against its botocore input shape, the way the real service does.

botocore checks only `required`, types and `min` on the client; `max`, `pattern` and `enum` are enforced by
the service. We check all of them here from the same model, and word the result as AWS does:

    1 validation error detected: Value 'x_y' at 'trainingJobName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

A member of the wrong JSON type is not a validation error in AWS but a `SerializationException`, raised at
once because nothing below that member can be read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape

from .errors import SerializationException, ValidationException

_JSON_TYPE_NAMES = {
    "string": "String",
    "integer": "Integer",
    "long": "Long",
    "float": "Float",
    "double": "Double",
    "boolean": "Boolean",
    "timestamp": "Timestamp",
    "blob": "Blob",
}


def validate_request(shape: StructureShape | None, params: Any) -> None:
    """Raise ValidationException (or SerializationException) if `params` does not satisfy `shape`."""
    if shape is None:
        return
    if not isinstance(params, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        raise ValidationException(validation_message(problems))


def validation_message(problems: list[str]) -> str:
    """AWS's summary line for a list of constraint violations."""
    noun = "error" if len(problems) == 1 else "errors"
    return f"{len(problems)} validation {noun} detected: " + "; ".join(problems)


def constraint_violation(value: Any, path: str, constraint: str) -> str:
    """One violation, rendered as AWS renders it."""
    return f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}"


def member_path(parent: str, member: str) -> str:
    """AWS names members in lowerCamelCase, joined by dots (`resourceConfig.instanceType`)."""
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    type_name = shape.type_name
    if type_name == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            raise SerializationException(f"Expected a structure at '{path}'.")
        _check_structure(shape, value, path, problems)
    elif type_name == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            raise SerializationException(f"Expected a list at '{path}'.")
        _check_size(shape, value, len(value), path, problems, "length")
        for index, item in enumerate(value, start=1):
            if item is None:
                continue
            _check(shape.member, item, f"{path}.{index}.member", problems)
    elif type_name == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            raise SerializationException(f"Expected a map at '{path}'.")
        _check_size(shape, value, len(value), path, problems, "length")
        _check_map_entries(shape, value, path, problems)
    else:
        _check_scalar(shape, value, path, problems)


def _check_structure(shape: StructureShape, value: Mapping[str, Any], path: str, problems: list[str]) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(f"Value null at '{member_path(path, name)}' failed to satisfy constraint: "
                            "Member must not be null")
    for name, member_value in value.items():
        member = shape.members.get(name)
        # Members the model does not know are ignored, as the service ignores them.
        if member is None or member_value is None:
            continue
        _check(member, member_value, member_path(path, name), problems)


def _check_map_entries(shape: MapShape, value: Mapping[str, Any], path: str, problems: list[str]) -> None:
    for key, item in value.items():
        key_problems: list[str] = []
        _check(shape.key, key, path, key_problems)
        value_problems: list[str] = []
        if item is not None:
            _check(shape.value, item, path, value_problems)
        if key_problems:
            problems.append(_map_problem("Map keys", value, path, key_problems))
        if value_problems:
            problems.append(_map_problem("Map value", value, path, value_problems))


def _map_problem(what: str, value: Any, path: str, inner: list[str]) -> str:
    constraints = [p.split("failed to satisfy constraint: ", 1)[-1] for p in inner]
    return constraint_violation(value, path, f"{what} must satisfy constraint: [{', '.join(constraints)}]")


def _check_scalar(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    type_name = shape.type_name
    if not _has_json_type(type_name, value):
        expected = _JSON_TYPE_NAMES.get(type_name, type_name)
        raise SerializationException(f"{_json_kind(value)} can not be converted to {_article(expected)} "
                                     f"{expected} (at '{path}')")
    if type_name == "string":
        _check_size(shape, value, len(value), path, problems, "length")
        enum = shape.enum
        if enum and value not in enum:
            problems.append(constraint_violation(
                value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            compiled = _compile(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                problems.append(constraint_violation(
                    value, path, f"Member must satisfy regular expression pattern: {pattern}"))
    elif type_name in ("integer", "long", "float", "double"):
        _check_size(shape, value, value, path, problems, "value")


def _check_size(shape: Shape, value: Any, size: float, path: str, problems: list[str], noun: str) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and size < low:
        problems.append(constraint_violation(value, path, f"Member must have {noun} greater than or equal to {low}"))
    if high is not None and size > high:
        problems.append(constraint_violation(value, path, f"Member must have {noun} less than or equal to {high}"))


def _has_json_type(type_name: str, value: Any) -> bool:
    if type_name in ("string", "blob"):
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if type_name == "timestamp":
        # botocore sends epoch seconds; ISO-8601 strings are accepted by the service too.
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or isinstance(value, str)
    return True


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, (int, float)):
        return "NUMBER_VALUE"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={v}" for k, v in value.items())
        return "'{" + inner + "}'"
    if isinstance(value, list):
        return "'[" + ", ".join(str(v) for v in value) + "]'"
    return f"'{value}'"


@cache
def _compile(pattern: str) -> regex.Pattern[str] | None:
    """The models' patterns are Java regular expressions; the `regex` module reads their \\p{..} classes."""
    try:
        return regex.compile(pattern, regex.VERSION0)
    except regex.error:
        return None
