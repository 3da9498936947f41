"""Real parts for the usage tests: a moved clock for the server, a Redis server, `ivr usage`."""

from __future__ import annotations

import contextlib
import email.utils
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port

IVR = str(Path(sys.executable).parent / "ivr")
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
REDIS_SERVER = shutil.which("redis-server")
STEP = timedelta(seconds=15)  # well under gunicorn's 30 s worker timeout


def needs_faketime() -> None:
    if LIBFAKETIME is None or shutil.which("faketime") is None:
        pytest.skip("faketime is not installed (Debian package faketime): the clock cannot move")


class MovedClock:
    """The server's clock, moved by libfaketime: an offset from the real clock, in a file that
    every server process reads again each second. Forward only, in steps gunicorn tolerates."""

    def __init__(self, folder: Path, at: datetime) -> None:
        needs_faketime()
        self.path = folder / "faketime"
        self.offset = timedelta(0)
        self._write(at - datetime.now(UTC))

    @property
    def env(self) -> dict[str, str]:
        assert LIBFAKETIME is not None
        return {
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_CACHE_DURATION": "1",
        }

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        while self.now() < at:
            self._write(self.offset + min(STEP, at - self.now()))
            time.sleep(1.3)  # each process reads the file again within a second
        time.sleep(1.3)  # the last step, read by every process

    def _write(self, offset: timedelta) -> None:
        self.offset = offset
        seconds = offset.total_seconds()
        self.path.write_text(f"{'+' if seconds >= 0 else '-'}{abs(seconds):.3f}\n")


def server_time(url: str) -> datetime:
    """The server's own clock, from the Date header of its answer."""
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        return email.utils.parsedate_to_datetime(response.headers["Date"])


def ivr_usage(
    *args: str, env: dict[str, str], today: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`ivr usage ARGS`, with its clock at `today` (YYYY-MM-DD, noon UTC) if given."""
    command = [IVR, "usage", *args]
    if today is not None:
        needs_faketime()
        command = ["faketime", f"{today} 12:00:00", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": "UTC", **env},
        timeout=60,
    )


@dataclass
class RedisServer:
    url: str
    port: int
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(folder: Path, port: int | None = None, appendonly: bool = False) -> RedisServer:
    """Debian's redis-server on a loopback port, keeping nothing on disk (but, with
    `appendonly`, its append-only file in `folder`)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = port or free_port()
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return RedisServer(f"redis://127.0.0.1:{port}/0", port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("redis-server did not start")


@contextmanager
def redis_server(folder: Path, appendonly: bool = False) -> Iterator[RedisServer]:
    server = start_redis(folder, appendonly=appendonly)
    try:
        yield server
    finally:
        server.stop()


# --- faults of the store ---------------------------------------------------------------------


class SlowAnswers:
    """A TCP proxy on a loopback port, in front of a store: requests pass at once, answers are
    held back `delay` seconds (past the line's timeout, the store has applied what it answers
    too late)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        for s in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                store = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                return
            self._sockets += [client, store]
            threading.Thread(target=self._pass, args=(client, store, False), daemon=True).start()
            threading.Thread(target=self._pass, args=(store, client, True), daemon=True).start()

    def _pass(self, source: socket.socket, sink: socket.socket, held: bool) -> None:
        try:
            while data := source.recv(65536):
                if held and self.delay:
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """The SQLite file held by a second process in BEGIN EXCLUSIVE, as a backup or `sqlite3` at
    its prompt would hold it, until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


# SQLite's serial types for an integer: its size in bytes; 8 and 9 are the constants 0 and 1.
_INTEGER_BYTES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 8: 0, 9: 0}
# A row of the usage table is the record (day, name, count): its header (its size, then the
# serial type of each value: text of 10 bytes, text of the name's size, an integer), then
# the values.
_ROW = re.compile(rb"\x04\x21([\x0f-\x7f])([\x01-\x06\x08\x09])(\d{4}-\d\d-\d\d)")


def versions_in_files(files: list[Path]) -> dict[tuple[str, str], set[int]]:
    """Every value of each (day, counter) found in the raw bytes of `files`: in live rows, in
    freed pages and cells, in journals and logs alike."""
    found: dict[tuple[str, str], set[int]] = {}
    for path in files:
        data = path.read_bytes()
        for row in _ROW.finditer(data):
            name_size, kind = (row[1][0] - 13) // 2, row[2][0]
            name = data[row.end() : row.end() + name_size].decode("ascii", "replace")
            raw = data[row.end() + name_size : row.end() + name_size + _INTEGER_BYTES[kind]]
            value = kind - 8 if kind >= 8 else int.from_bytes(raw, "big", signed=True)
            found.setdefault((row[3].decode(), name), set()).add(value)
    return found
