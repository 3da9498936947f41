"""A crowd that holds connections to a server open, from processes of its own.

Kinds of connection, each opened again at once when the server closes it, as an attacker would:
- `stalled`: the whole header of a POST with `Content-Length: 30000`, then no body at all;
- `idle`: nothing sent at all;
- `trickle`: a header line a second, never the blank line that ends the header;
- `flood`: unsigned 31 KB bodies of 4,600 empty form fields, one after another, as fast as the
  server answers them.

A crowd runs in processes of its own (at most PER_PROCESS connections each, each from its own
loopback address, so that neither the open-file limit nor the local ports of one process bound
it), so that its work never delays the measurements taken in the process that started it.
Used by tests/test_crowds.py and bench/hostile.py (figures in docs/load-test.md).

    python -m tests.crowd KIND COUNT HOST PORT SECONDS SOURCE_ADDRESS again|once
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("stalled", "idle", "trickle", "flood")
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


class _Crowd:
    """One process's part of a crowd: its connections and what they met."""

    def __init__(
        self, kind: str, count: int, host: str, port: int, source: str | None, again: bool
    ) -> None:
        self.kind, self.count, self.host, self.port, self.again = kind, count, host, port, again
        self.local = (source, 0) if source else None
        self.opened = self.open = self.closed_by_server = 0
        self.answers: dict[str, int] = {}
        self.longest_open = 0.0
        self.still_open = 0  # when the crowd was told to stop
        self.stopping = asyncio.Event()

    def answered(self, status: bytes) -> None:
        key = status.split(b"\r\n", 1)[0].decode("latin-1").strip() or "closed, no answer"
        self.answers[key] = self.answers.get(key, 0) + 1

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            connection = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, local_addr=self.local), 10
            )
        except (OSError, TimeoutError):
            await asyncio.sleep(0.2)
            return None
        self.opened += 1
        return connection

    async def hold(self) -> None:
        first, pieces = _request(self.kind, self.host, self.port)
        stop = asyncio.ensure_future(self.stopping.wait())
        while not self.stopping.is_set():
            if (connection := await self.connect()) is None:
                continue
            reader, writer = connection
            self.open += 1
            opened_at = time.monotonic()
            closed = asyncio.ensure_future(reader.read(4096))
            try:
                writer.write(first)
                for piece in [b"", *pieces]:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.wait(
                        {closed, stop},
                        timeout=1.0 if pieces else None,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if closed.done() or stop.done():
                        break
                if closed.done():
                    self.closed_by_server += 1
                    self.answered(b"" if closed.exception() else closed.result())
            except OSError:
                self.closed_by_server += 1
                self.answered(b"")
            finally:
                self.still_open += stop.done() and not closed.done()
                self.longest_open = max(self.longest_open, time.monotonic() - opened_at)
                self.open -= 1
                closed.cancel()
                writer.close()
            if not self.again:
                return

    async def flood(self) -> None:
        request = flood_request(self.host, self.port)
        while not self.stopping.is_set():
            if (connection := await self.connect()) is None:
                continue
            reader, writer = connection
            try:
                while not self.stopping.is_set():
                    writer.write(request)
                    await writer.drain()
                    status = await asyncio.wait_for(reader.readline(), 15)
                    if not status:
                        break
                    self.answered(status)
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    await reader.readexactly(length)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                pass
            finally:
                self.closed_by_server += not self.stopping.is_set()
                writer.close()

    async def run(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.call_later(seconds, self.stopping.set)
        work = self.flood if self.kind == "flood" else self.hold

        async def ready() -> None:
            # Said once every connection has been opened (or ten seconds have passed).
            deadline = time.monotonic() + 10
            while self.opened < self.count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            print(json.dumps({"ready": self.opened}), flush=True)

        await asyncio.gather(ready(), *(work() for _ in range(self.count)))

    def figures(self) -> dict[str, object]:
        return {
            "opened": self.opened,
            "closed_by_server": self.closed_by_server,
            "answers": self.answers,
            "longest_open": self.longest_open,
            "still_open": self.still_open,
        }


def _run(args: list[str]) -> None:
    kind, count, host, port, seconds, source, again = args
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    part = _Crowd(kind, int(count), host, int(port), source or None, again == "again")
    asyncio.run(part.run(float(seconds)))
    print(json.dumps(part.figures()), flush=True)


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
