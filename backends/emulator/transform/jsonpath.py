"""The JSONPath subset SageMaker batch transform accepts in `InputFilter` and `OutputFilter`.

Supported (AWS "Supported JSONPath Operators"): the root `$`; members `.name`, `['name']`, `["name"]`; several
members `['a','b']` (giving an object with those members, as Jayway JsonPath does); the wildcard `.*` / `[*]`;
indexes `[0]`, negative indexes `[-1]`, unions `[1,3,5]` and slices `[2:5]`, `[:5]`, `[2:]`, and a union of
indexes with at most one slice (`[0,5:]`, an AWS example). A dot before a bracket is accepted
(`$.field1.['child1','child2']`, also an AWS example).

Slices exclude their end, as in Jayway JsonPath (the implementation the AWS page points to) and JavaScript's
`slice()` (which the AWS operator table cites): `$[1:4]` is indexes 1, 2 and 3, and `$[0:-1]` drops the last
column. (The prose under the AWS CSV example calls the range inclusive, contradicting its own operator table.)

Not supported, and rejected with a message: recursive descent `..`, filters `?()`, script expressions, slice
steps, several ranges in one union (AWS: "only single range filters ... are supported"), nested names inside a
multi-member bracket (AWS: `$.field1.['child1','child2.grandchild']` "is not"), and, as a limit of this
emulator, any multi-element selection that is not the last step of the path.

Evaluation is strict where the documentation says "If you specify indexes that aren't within the dimension
size of the joined dataset, you get an error": indexes and slice bounds outside the array, and missing
members, are errors rather than empty results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

_NAME = re.compile(r"[^.\[\]\s'\"*()?@$,]+")
_INDEX = re.compile(r"-?\d+")
_SLICE = re.compile(r"(-?\d+)?:(-?\d+)?")


class JsonPathError(ValueError):
    """A path is invalid, or cannot be applied to a value; the message says why."""


@dataclass(frozen=True)
class Names:
    text: str
    names: tuple[str, ...]

    @property
    def selects_many(self) -> bool:
        return len(self.names) > 1


@dataclass(frozen=True)
class Slice:
    start: int | None
    end: int | None


@dataclass(frozen=True)
class Indexes:
    text: str
    items: tuple[int | Slice, ...]

    @property
    def selects_many(self) -> bool:
        return len(self.items) > 1 or isinstance(self.items[0], Slice)


@dataclass(frozen=True)
class Wildcard:
    text: str

    @property
    def selects_many(self) -> bool:
        return True


# Union, not `|`: this module also runs in the Python 3.9 runtime of XGBoost 0.72 (see runtimes/).
Step = Union[Names, Indexes, Wildcard]  # noqa: UP007


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @property
    def is_root(self) -> bool:
        return not self.steps

    @property
    def uses_names(self) -> bool:
        return any(isinstance(step, Names) for step in self.steps)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, reason: str) -> JsonPathError:
        return JsonPathError(f"Invalid JsonPath: {self.text}: {reason}")

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.position += 1

    def parse(self) -> JsonPath:
        if not self.text:
            raise JsonPathError("Invalid JsonPath: the path is empty; '$' selects the whole record")
        if not self.text.startswith("$"):
            raise self.fail("a path must start with '$'")
        self.position = 1
        steps: list[Step] = []
        while self.position < len(self.text):
            steps.append(self.step())
        for step in steps[:-1]:
            if step.selects_many:
                raise self.fail(
                    f"a selection of several elements ({step.text}) is only supported as the last step"
                )
        return JsonPath(self.text, tuple(steps))

    def step(self) -> Step:
        start = self.position
        char = self.peek()
        if char == ".":
            self.position += 1
            following = self.peek()
            if following == ".":
                raise self.fail("recursive descent ('..') is not supported")
            if following == "[":
                return self.bracket(start)
            if following == "*":
                self.position += 1
                return Wildcard(self.text[start : self.position])
            match = _NAME.match(self.text, self.position)
            if match is None:
                raise self.fail(f"expected a member name after '.' at character {self.position + 1}")
            self.position = match.end()
            return Names(self.text[start : self.position], (match.group(),))
        if char == "[":
            return self.bracket(start)
        raise self.fail(f"unexpected {char!r} at character {self.position + 1}")

    def bracket(self, start: int) -> Step:
        self.position += 1  # past '['
        self.skip_spaces()
        char = self.peek()
        if char == "*":
            self.position += 1
            self.close_bracket()
            return Wildcard(self.text[start : self.position])
        if char in ("'", '"'):
            names = self.quoted_names()
            return Names(self.text[start : self.position], names)
        if char in ("?", "("):
            raise self.fail("filter and script expressions are not supported")
        end = self.text.find("]", self.position)
        if end == -1:
            raise self.fail(f"'[' at character {start + 1} is not closed")
        content = self.text[self.position : end]
        self.position = end + 1
        return Indexes(self.text[start : self.position], self.index_items(content))

    def close_bracket(self) -> None:
        self.skip_spaces()
        if self.peek() != "]":
            raise self.fail(f"expected ']' at character {self.position + 1}")
        self.position += 1

    def quoted_names(self) -> tuple[str, ...]:
        names: list[str] = []
        while True:
            quote = self.peek()
            if quote not in ("'", '"'):
                raise self.fail(f"expected a quoted member name at character {self.position + 1}")
            end = self.text.find(quote, self.position + 1)
            if end == -1:
                raise self.fail(f"the quote at character {self.position + 1} is not closed")
            name = self.text[self.position + 1 : end]
            if not name:
                raise self.fail("a member name cannot be empty")
            names.append(name)
            self.position = end + 1
            self.skip_spaces()
            if self.peek() == ",":
                self.position += 1
                self.skip_spaces()
                continue
            self.close_bracket()
            break
        if len(names) > 1:
            for name in names:
                if "." in name:
                    raise self.fail(
                        f"nested children inside brackets ({name!r}) are not supported; "
                        "list direct children only, as in $.field1['child1','child2']"
                    )
        return tuple(names)

    def index_items(self, content: str) -> tuple[int | Slice, ...]:
        items: list[int | Slice] = []
        for raw in content.split(","):
            item = raw.strip()
            if _INDEX.fullmatch(item):
                items.append(int(item))
                continue
            match = _SLICE.fullmatch(item)
            if match is None:
                if item.count(":") > 1:
                    raise self.fail(f"slice steps ({item}) are not supported")
                raise self.fail(f"[{content}] is not an index, a list of indexes or a slice")
            start, end = match.groups()
            items.append(Slice(None if start is None else int(start), None if end is None else int(end)))
        if sum(isinstance(item, Slice) for item in items) > 1:
            # The wording SageMaker answers with for several ranges.
            raise JsonPathError(
                f"Invalid JsonPath: {self.text}: only single range filters of format (eg: [1:5]) are "
                f"supported. Format [{content}] is not supported"
            )
        return tuple(items)


def parse(text: str) -> JsonPath:
    return _Parser(text).parse()


def validate_jsonpath(expr: str) -> str | None:
    """None if `expr` is a path the emulator accepts, else the reason, worded for a ValidationException."""
    try:
        parse(expr)
    except JsonPathError as exc:
        return str(exc)
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes):
        return "a single column"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _count(size: int, noun: str) -> str:
    return f"{size} {noun}" if size == 1 else f"{size} {noun}s"


def _resolve(index: int, size: int) -> int:
    return index + size if index < 0 else index


def _select_indexes(step: Indexes, array: list[Any], where: str, noun: str) -> Any:
    size = len(array)
    selected: list[Any] = []
    for item in step.items:
        if isinstance(item, int):
            position = _resolve(item, size)
            if not 0 <= position < size:
                raise JsonPathError(
                    f"index {item} is out of range for {where}, which has {_count(size, noun)}"
                )
            selected.append(array[position])
            continue
        start = 0 if item.start is None else _resolve(item.start, size)
        end = size if item.end is None else _resolve(item.end, size)
        if not (0 <= start <= size and 0 <= end <= size):
            raise JsonPathError(
                f"slice {step.text} is out of range for {where}, which has {_count(size, noun)}"
            )
        selected.extend(array[start:end])
    return selected if step.selects_many else selected[0]


def _apply(step: Step, value: Any, where: str, noun: str) -> Any:
    if isinstance(step, Wildcard):
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        raise JsonPathError(f"{step.text} needs an object or an array, but {where} is {_kind(value)}")
    if isinstance(step, Names):
        if not isinstance(value, dict):
            raise JsonPathError(f"{step.text} selects members, but {where} is {_kind(value)}, not an object")
        for name in step.names:
            if name not in value:
                raise JsonPathError(f"{where} has no member {name!r}")
        if step.selects_many:
            return {name: value[name] for name in step.names}
        return value[step.names[0]]
    if not isinstance(value, list):
        raise JsonPathError(f"{step.text} selects array elements, but {where} is {_kind(value)}")
    return _select_indexes(step, value, where, noun)


def evaluate(path: JsonPath, value: Any, *, root: str = "the record", noun: str = "element") -> Any:
    """Apply `path` to a JSON value (lists, dicts, scalars; `bytes` stand for CSV columns)."""
    current = value
    walked = "$"
    for step in path.steps:
        where = root if walked == "$" else f"{walked} of {root}"
        current = _apply(step, current, where, noun)
        walked += step.text
    return current
