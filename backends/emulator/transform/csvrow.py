"""One CSV line (RFC 4180, no embedded newlines) as its columns, each kept as its raw bytes.

Columns keep their quotes and spacing, so selecting all of them and joining with commas gives back the
original line byte for byte, and a filtered line differs from its input only in which columns it holds.
"""

from __future__ import annotations


class CsvFormatError(ValueError):
    pass


def split_columns(line: bytes) -> list[bytes]:
    if b'"' not in line:
        return line.split(b",")
    columns: list[bytes] = []
    start = position = 0
    while True:
        comma = line.find(b",", position)
        quote = line.find(b'"', position)
        if quote != -1 and (comma == -1 or quote < comma):
            # Skip the quoted section; an escaped quote ("") just opens the next section right away.
            closing = line.find(b'"', quote + 1)
            if closing == -1:
                raise CsvFormatError(f"the quote at byte {quote + 1} is never closed")
            position = closing + 1
            continue
        if comma == -1:
            columns.append(line[start:])
            return columns
        columns.append(line[start:comma])
        start = position = comma + 1


def join_columns(columns: list[bytes]) -> bytes:
    return b",".join(columns)
