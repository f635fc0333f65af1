"""The delimiter of a CSV payload is what the container's `csv.Sniffer` finds: the fast path for lines of plain
numbers must never decide otherwise than the sniffer itself."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from backends.emulator.algorithms.xgboost.payloads import _sniff_delimiter

NUMBERS = st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr),
                             st.integers(-10**6, 10**6).map(str), st.just("")), min_size=2, max_size=40)
PLAIN = st.text(alphabet="0123456789eE+-.,", min_size=1, max_size=200).filter(lambda line: "," in line)


def _sniffer(line: str) -> str:
    sniffed = csv.Sniffer().sniff(line).delimiter
    return "," if sniffed.isalnum() else sniffed


@settings(max_examples=500)
@given(fields=NUMBERS)
def test_rows_of_numbers(fields: list[str]) -> None:
    line = ",".join(fields)
    if "," in line:
        assert _sniff_delimiter(line) == _sniffer(line) == ","


@settings(max_examples=1000)
@given(line=PLAIN)
def test_any_line_of_number_characters(line: str) -> None:
    assert _sniff_delimiter(line) == _sniffer(line)


def test_other_lines_still_go_to_the_sniffer() -> None:
    for line in ("1;2;3", "1\t2\t3", "1 2 3", "1|2|3"):
        assert _sniff_delimiter(line) == _sniffer(line)
