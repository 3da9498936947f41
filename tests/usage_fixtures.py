"""Real parts for the usage tests: a moved clock for the server, a Redis server, `ivr usage`."""

from __future__ import annotations

import email.utils
import glob
import os
import shutil
import socket
import subprocess
import sys
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


def start_redis(folder: Path, port: int | None = None) -> RedisServer:
    """Debian's redis-server on a loopback port, keeping nothing on disk."""
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
            "no",
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
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = start_redis(folder)
    try:
        yield server
    finally:
        server.stop()
