"""Durable control-plane state: one SQLite table of resource documents.

A document is the resource's Describe response (timestamps as epoch seconds), so reading a resource is one
row and a restart of the emulator loses nothing that was acknowledged to a client. WAL mode keeps readers
(Describe polling) off the writers' way; a process kill -9 loses no committed transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Document = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (kind, region, key)
)
"""


class Store:
    """Resource documents keyed by (kind, region, name); names are case-insensitive as in SageMaker."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def insert(self, kind: str, region: str, name: str, document: Document) -> bool:
        """Add a document; False (and nothing written) if one with that name exists."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO resources (kind, region, key, document) VALUES (?, ?, ?, ?)",
                    (kind, region, name.lower(), json.dumps(document)),
                )
            except sqlite3.IntegrityError:
                return False
            return True

    def get(self, kind: str, region: str, name: str) -> Document | None:
        with self._lock:
            row = self._db.execute(
                "SELECT document FROM resources WHERE kind = ? AND region = ? AND key = ?",
                (kind, region, name.lower()),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def update(self, kind: str, region: str, name: str, change: Callable[[Document], None]) -> Document | None:
        """Read, change in place and write back atomically; None if the document does not exist."""
        with self._lock:
            document = self.get(kind, region, name)
            if document is None:
                return None
            change(document)
            self._db.execute(
                "UPDATE resources SET document = ? WHERE kind = ? AND region = ? AND key = ?",
                (json.dumps(document), kind, region, name.lower()),
            )
            return document

    def delete(self, kind: str, region: str, name: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM resources WHERE kind = ? AND region = ? AND key = ?", (kind, region, name.lower())
            )
            return cursor.rowcount > 0

    def list(self, kind: str, region: str | None = None) -> list[Document]:
        with self._lock:
            if region is None:
                rows = self._db.execute("SELECT document FROM resources WHERE kind = ?", (kind,)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT document FROM resources WHERE kind = ? AND region = ?", (kind, region)
                ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def all_of(self, kind: str) -> Iterator[tuple[str, Document]]:
        """Every (region, document) of a kind, for recovery at start-up."""
        with self._lock:
            rows = self._db.execute("SELECT region, document FROM resources WHERE kind = ?", (kind,)).fetchall()
        for region, document in rows:
            yield region, json.loads(document)

    def close(self) -> None:
        with self._lock:
            self._db.close()
