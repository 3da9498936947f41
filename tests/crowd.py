"""A crowd that holds connections to a server open, from processes of its own.

Kinds of connection, each opened again at once when the server closes it, as an attacker would:
- `stalled`: the whole header of a POST with `Content-Length: 30000`, then no body at all;
- `idle`: nothing sent at all;
- `trickle`: a header line a second, never the blank line that ends the header;
- `flood`: unsigned 31 KB bodies of 4,600 empty form fields, one after another, as fast as the
  server answers them;
- `headers`: the same with requests whose header is 50 lines of 8,000 bytes (gunicorn's own
  limits allow twice that).

A crowd runs in processes of its own (at most PER_PROCESS connections each, each from its own
loopback address, so that neither the open-file limit nor the local ports of one process bound
it), so that its work never delays the measurements taken in the process that started it.
Used by tests/test_crowds.py and bench/hostile.py (figures in docs/load-test.md).

    python -m tests.crowd KIND COUNT HOST PORT SECONDS SOURCE_ADDRESS again|once
"""

from __future__ import annotations

import itertools
import json
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("stalled", "idle", "trickle", "flood", "headers")
PER_PROCESS = 5000
FLOOD_FIELDS = 4600
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Seen:
    """What a crowd met, summed over its processes."""

    opened: int = 0  # connections made, reconnections included
    closed_by_server: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # status line -> how many
    longest_open: float = 0.0  # seconds, the longest any connection stayed open
    still_open: int = 0  # at the end

    def add(self, other: dict[str, object]) -> None:
        self.opened += int(other["opened"])  # type: ignore[call-overload]
        self.closed_by_server += int(other["closed_by_server"])  # type: ignore[call-overload]
        for status, count in other["answers"].items():  # type: ignore[attr-defined]
            self.answers[status] = self.answers.get(status, 0) + count
        self.longest_open = max(self.longest_open, float(other["longest_open"]))  # type: ignore[arg-type]
        self.still_open += int(other["still_open"])  # type: ignore[call-overload]


def _request(kind: str, host: str, port: int) -> tuple[bytes, list[bytes]]:
    """What a connection of `kind` sends at once, then what it trickles, a piece a second."""
    if kind == "stalled":
        head = (
            f"POST /voice HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "X-Twilio-Signature: stalled\r\nContent-Length: 30000\r\n\r\n"
        )
        return head.encode(), []
    if kind == "trickle":
        lines = [f"X-Slow-{i}: {i}\r\n".encode() for i in range(10_000)]
        return f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n".encode(), lines
    return b"", []


def flood_request(host: str, port: int) -> bytes:
    """One unsigned POST whose 31 KB body is 4,600 form fields, each with a name and no value."""
    body = "&".join(f"{i:05d}=" for i in range(FLOOD_FIELDS)).encode()
    head = (
        f"POST /voice HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: flood\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Part:
    """One process's part of a crowd: its connections, driven by epoll, and what they met.

    Raw non-blocking sockets, not asyncio's streams: a connection opened, refused and opened
    again must cost the crowd far less than it costs the server, or on a shared machine the
    crowd's own work would be what slows the server down.
    """

    def __init__(
        self, kind: str, count: int, host: str, port: int, source: str | None, again: bool
    ) -> None:
        self.kind, self.count, self.again = kind, count, again
        self.address = (host, port)
        self.source = source
        self.first, self.pieces = _request(kind, host, port)
        self.epoll = select.epoll()
        # fd -> [socket, opened at, connected, pieces sent]
        self.open: dict[int, list[Any]] = {}
        self.opened = self.closed_by_server = self.still_open = 0
        self.answers: dict[str, int] = {}
        self.longest_open = 0.0
        self.stopping = False

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if self.source:
            sock.bind((self.source, 0))
        sock.connect_ex(self.address)
        self.epoll.register(sock.fileno(), select.EPOLLOUT)
        self.open[sock.fileno()] = [sock, time.monotonic(), False, 0]

    def close(self, fd: int, by_server: bool, answer: bytes = b"") -> None:
        sock, opened_at, connected, _ = self.open.pop(fd)
        self.epoll.unregister(fd)
        sock.close()
        if connected:
            self.longest_open = max(self.longest_open, time.monotonic() - opened_at)
        if by_server:
            self.closed_by_server += 1
            status = answer.split(b"\r\n", 1)[0].decode("latin-1").strip() or "closed, no answer"
            self.answers[status] = self.answers.get(status, 0) + 1
        if self.again and not self.stopping:
            self.connect()

    def event(self, fd: int, mask: int) -> None:
        entry = self.open[fd]
        sock = entry[0]
        if not entry[2]:  # connecting
            if mask & (select.EPOLLERR | select.EPOLLHUP):
                self.close(fd, by_server=False)  # not taken in time: try again
                return
            entry[1], entry[2] = time.monotonic(), True
            self.opened += 1
            try:
                if self.first:
                    sock.send(self.first)
            except OSError:
                self.close(fd, by_server=True)
                return
            self.epoll.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
            return
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
        self.close(fd, by_server=True, answer=answer)

    def trickle(self) -> None:
        """The next piece on every connection that sends a piece a second."""
        for fd, entry in list(self.open.items()):
            if entry[2] and entry[3] < len(self.pieces):
                try:
                    entry[0].send(self.pieces[entry[3]])
                    entry[3] += 1
                except OSError:
                    self.close(fd, by_server=True)

    def run(self, seconds: float) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        stop = time.monotonic() + seconds
        for _ in range(self.count):
            self.connect()
        said_ready = False
        next_piece = time.monotonic() + 1
        started = time.monotonic()
        while not self.stopping and time.monotonic() < stop:
            try:
                events = self.epoll.poll(0.2)
            except InterruptedError:
                continue
            for fd, mask in events:
                if fd in self.open:
                    self.event(fd, mask)
            if self.pieces and time.monotonic() >= next_piece:
                next_piece += 1
                self.trickle()
            if not said_ready and (self.opened >= self.count or time.monotonic() - started > 10):
                said_ready = True
                print(json.dumps({"ready": self.opened}), flush=True)
        if not said_ready:
            print(json.dumps({"ready": self.opened}), flush=True)
        self.stopping = True
        for fd in list(self.open):
            if self.open[fd][2]:
                self.still_open += 1
            self.close(fd, by_server=False)

    def figures(self) -> dict[str, object]:
        return {
            "opened": self.opened,
            "closed_by_server": self.closed_by_server,
            "answers": self.answers,
            "longest_open": self.longest_open,
            "still_open": self.still_open,
        }


def headers_request(host: str, port: int) -> bytes:
    """One GET whose header is 400 KB: 50 lines of 8,000 bytes."""
    lines = "".join(f"X-Filler-{i}: {'f' * 7980}\r\n" for i in range(50))
    return f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n{lines}\r\n".encode()


def _flood(kind: str, count: int, host: str, port: int, seconds: float, source: str | None) -> dict:
    """`count` connections, each sending requests one after another; a thread each."""
    request = (flood_request if kind == "flood" else headers_request)(host, port)
    answers: dict[str, int] = {}
    stop = time.monotonic() + seconds
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    lock = threading.Lock()
    opened = [0]

    def one() -> None:
        while not stopping.is_set() and time.monotonic() < stop:
            try:
                with socket.create_connection(
                    (host, port), timeout=15, source_address=(source, 0) if source else None
                ) as sock:
                    with lock:
                        opened[0] += 1
                    reader = sock.makefile("rb")
                    while not stopping.is_set() and time.monotonic() < stop:
                        sock.sendall(request)
                        status = reader.readline().strip().decode("latin-1")
                        length = 0
                        while (line := reader.readline()) not in (b"\r\n", b""):
                            if line.lower().startswith(b"content-length:"):
                                length = int(line.split(b":")[1])
                        reader.read(length)
                        with lock:
                            answers[status] = answers.get(status, 0) + 1
            except OSError:
                time.sleep(0.1)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    print(json.dumps({"ready": count}), flush=True)
    while not stopping.is_set() and time.monotonic() < stop:
        stopping.wait(0.2)
    stopping.set()
    for thread in threads:
        thread.join(20)
    return {
        "opened": opened[0],
        "closed_by_server": 0,
        "answers": answers,
        "longest_open": 0.0,
        "still_open": 0,
    }


def _run(args: list[str]) -> None:
    kind, count, host, port, seconds, source, again = args
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if kind in ("flood", "headers"):
        figures = _flood(kind, int(count), host, int(port), float(seconds), source or None)
    else:
        part = _Part(kind, int(count), host, int(port), source or None, again == "again")
        part.run(float(seconds))
        figures = part.figures()
    print(json.dumps(figures), flush=True)


_sources = itertools.count(10)  # each process of a crowd connects from an address of its own


@contextmanager
def crowd(kind: str, count: int, base: str, seconds: float, again: bool = True) -> Iterator[Seen]:
    """`count` connections of `kind` to `base`, held for `seconds` or until the block ends, each
    opened again when the server closes it (unless not `again`); entered once every connection
    has been opened. What they met is filled in when the block ends."""
    assert kind in KINDS, kind
    host, port = base.removeprefix("http://").rsplit(":", 1)
    processes = []
    for start in range(0, count, PER_PROCESS):
        size = min(PER_PROCESS, count - start)
        source = f"127.0.0.{next(_sources) % 250 + 2}" if host == "127.0.0.1" else ""
        command = [kind, str(size), host, port, str(seconds), source, "again" if again else "once"]
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.crowd", *command],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    seen = Seen()
    try:
        for process in processes:
            assert process.stdout is not None
            process.stdout.readline()  # ready
        yield seen
    finally:
        for process in processes:
            process.terminate()  # each stops its connections and says what they met
        for process in processes:
            try:
                out, _ = process.communicate(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            if out.strip():
                seen.add(json.loads(out.strip().splitlines()[-1]))


if __name__ == "__main__":
    _run(sys.argv[1:])
