"""A tracker for XGBoost 0.72 and 0.90, whose packages ship `rabit` but no tracker.

Their Rabit workers speak dmlc-core's tracker protocol, the one `xgboost.tracker.RabitTracker` (1.0 ... 1.7)
speaks and the 0.90 container's `dmlc_patch/tracker.py` serves. This is the emulator's own implementation of it,
enough for a job's hosts on one machine (no recovery of a failed worker: a failed host fails the job):

* a worker connects and both sides exchange the magic number 0xff99; the worker then sends its rank (-1 when
  it has none), the world size (-1 when unknown), its task id and a command (`start`, `print`, `shutdown`;
  strings are an int length then bytes, ints native 4-byte);
* `print`: one more string, which the tracker logs; `shutdown`: the worker is done;
* `start`: once every worker has connected, ranks are given in task-id order (`sortby="task"` of the 1.7
  tracker); each worker is told its rank, parent, the world size, its tree neighbours and its ring neighbours,
  then which of its peers are already listening (host, port, rank) and how many will connect to it, until it
  reports its links made; a worker that must accept connections is kept until its peers have connected.

The link maps are XGBoost's: a binary tree in heap order, and a ring that walks that tree depth first (so most
ring links are tree links), relabelled so the ring runs 0, 1, ... N-1.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

MAGIC = 0xFF99

# (neighbours, parent) by rank; ring: (previous, next) by rank.
Links = tuple[dict[int, list[int]], dict[int, int], dict[int, tuple[int, int]]]


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, size: int) -> bytes:
        chunks = []
        while size > 0:
            chunk = self.sock.recv(min(size, 65536))
            if not chunk:
                raise ConnectionError("the worker closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def read_int(self) -> int:
        value: int = struct.unpack("@i", self.read(4))[0]
        return value

    def read_str(self) -> str:
        return self.read(self.read_int()).decode()

    def send_int(self, value: int) -> None:
        self.sock.sendall(struct.pack("@i", value))

    def send_str(self, value: str) -> None:
        data = value.encode()
        self.send_int(len(data))
        self.sock.sendall(data)


class _Worker:
    def __init__(self, connection: _Connection, host: str) -> None:
        self.connection = connection
        self.host = host
        if connection.read_int() != MAGIC:
            raise ConnectionError(f"a connection from {host} is not a Rabit worker")
        connection.send_int(MAGIC)
        self.rank = connection.read_int()
        self.world_size = connection.read_int()
        self.task = connection.read_str()
        self.command = connection.read_str()
        self.port = -1
        self.wait_accept = 0

    def assign(self, rank: int, waiting: dict[int, _Worker], links: Links) -> None:
        """Tell the worker its place, then broker its links until it has made them all."""
        tree, parent, ring = links
        out = self.connection
        self.rank = rank
        neighbours = set(tree[rank])
        out.send_int(rank)
        out.send_int(parent[rank])
        out.send_int(len(tree))
        out.send_int(len(neighbours))
        for peer in sorted(neighbours):
            out.send_int(peer)
        for peer in ring[rank]:
            if peer not in (-1, rank):
                neighbours.add(peer)
                out.send_int(peer)
            else:
                out.send_int(-1)
        while True:
            good = {out.read_int() for _ in range(out.read_int())}
            bad = neighbours - good
            listening = sorted(peer for peer in bad if peer in waiting)
            out.send_int(len(listening))
            out.send_int(len(bad) - len(listening))
            for peer in listening:
                out.send_str(waiting[peer].host)
                out.send_int(waiting[peer].port)
                out.send_int(peer)
            if out.read_int() != 0:  # some links failed: the worker asks again
                continue
            self.port = out.read_int()
            for peer in listening:
                waiting[peer].wait_accept -= 1
                if waiting[peer].wait_accept == 0:
                    del waiting[peer]
            self.wait_accept = len(bad) - len(listening)
            if self.wait_accept > 0:
                waiting[rank] = self
            return


def link_maps(count: int) -> Links:
    """XGBoost's tree and ring for `count` workers, relabelled so the ring is 0 ... count-1."""
    tree: dict[int, list[int]] = {}
    parent: dict[int, int] = {}
    for rank in range(count):
        parent[rank] = (rank + 1) // 2 - 1
        tree[rank] = ([parent[rank]] if rank > 0 else []) + [c for c in (2 * rank + 1, 2 * rank + 2) if c < count]
    order = _share_ring(tree, parent, 0)
    relabel = {old: new for new, old in enumerate(order)}
    new_tree = {relabel[r]: [relabel[n] for n in neighbours] for r, neighbours in tree.items()}
    new_parent = {relabel[r]: (relabel[p] if p >= 0 else -1) for r, p in parent.items()}
    ring = {r: ((r - 1) % count, (r + 1) % count) for r in range(count)}
    return new_tree, new_parent, ring


def _share_ring(tree: dict[int, list[int]], parent: dict[int, int], rank: int) -> list[int]:
    """The ranks of `rank`'s subtree in a depth-first order whose last child's part is reversed, so that the
    ring's steps between parts are tree links."""
    children = sorted(set(tree[rank]) - {parent[rank]})
    order = [rank]
    for index, child in enumerate(children):
        part = _share_ring(tree, parent, child)
        if index == len(children) - 1:
            part.reverse()
        order += part
    return order


class Tracker:
    """The tracker for `count` workers on `address`:`port`, in a daemon thread (`start`, then `join`)."""

    def __init__(self, address: str, port: int, count: int, printer: Callable[[str], None] | None = None) -> None:
        self.count = count
        self.printer = printer or logging.getLogger("RabitTracker").info
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(256)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._serve, name="rabit-tracker", daemon=True)
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
        self.sock.close()

    def _serve(self) -> None:
        try:
            self._accept_all()
        except BaseException as error:  # the workers see the tracker gone and fail the job
            self.error = error

    def _accept_all(self) -> None:
        links = link_maps(self.count)
        pending: list[_Worker] = []
        waiting: dict[int, _Worker] = {}
        done: set = set()
        assigned = False
        while len(done) < self.count:
            sock, peer = self.sock.accept()
            worker = _Worker(_Connection(sock), peer[0])
            if worker.command == "print":
                self.printer(worker.connection.read_str().strip())
                continue
            if worker.command == "shutdown":
                done.add(worker.rank)
                continue
            if worker.command != "start" or assigned:
                raise ConnectionError(f"unexpected tracker command {worker.command!r} (no recovery here)")
            pending.append(worker)
            if len(pending) == self.count:
                assigned = True
                for rank, each in enumerate(sorted(pending, key=_task_order)):
                    each.assign(rank, waiting, links)


def _task_order(worker: _Worker) -> Any:
    return (0, int(worker.task)) if worker.task.isdigit() else (1, worker.task)
