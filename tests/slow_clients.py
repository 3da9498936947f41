"""Slow clients: does the line keep answering while many connections trickle in?

Opens N connections (asyncio, one task each) that never finish their request: half send a
request line and then one header line a second; half send the whole header of a POST with
Content-Length 2000 and then one byte of body a second. A connection the server closes is
counted and opened again at once, as an attacker would. Meanwhile, every half second, signed
webhooks and health checks are sent on fresh connections, and their latency is measured.

Used by tests/test_hostile.py, and by bench/slow_clients.py and bench/load_test.py (figures in
docs/load-test.md).
"""

from __future__ import annotations

import asyncio
import http.client
import statistics
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.helpers import TOKEN, signed_request


@dataclass
class Trickle:
    """What the slow connections met."""

    opened: int = 0  # connections made, reconnections included
    closed_by_server: dict[str, int] = field(default_factory=lambda: {"headers": 0, "body": 0})


@dataclass
class Probes:
    latencies: list[float] = field(default_factory=list)  # seconds, answered 200 or not
    answered: int = 0  # with 200

    @property
    def sent(self) -> int:
        return len(self.latencies)

    def worst(self) -> float:
        return max(self.latencies, default=float("nan"))

    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def over(self, seconds: float) -> int:
        return sum(latency > seconds for latency in self.latencies)


async def _slow_connection(index: int, host: str, port: int, stop: float, seen: Trickle) -> None:
    trickles_body = index % 2 == 1
    if trickles_body:
        head = (
            f"POST /key?n=main&p=0&m=0 HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "X-Twilio-Signature: slow\r\nContent-Length: 2000\r\n\r\n"
        )
        chunks = [head.encode(), *([b"a"] * 2000)]
    else:
        lines = ["GET /healthz HTTP/1.1\r\n", f"Host: {host}:{port}\r\n"]
        chunks = [line.encode() for line in lines] + [
            f"X-Slow-{i}: {i}\r\n".encode() for i in range(10_000)
        ]
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.5)
            continue
        seen.opened += 1
        # Done when the server answers or hangs up.
        closed = asyncio.ensure_future(reader.read(4096))
        try:
            for chunk in chunks:
                if closed.done() or time.monotonic() >= stop:
                    break
                writer.write(chunk)
                await writer.drain()
                await asyncio.wait({closed}, timeout=min(1.0, max(0.0, stop - time.monotonic())))
            if closed.done() and time.monotonic() < stop:
                seen.closed_by_server["body" if trickles_body else "headers"] += 1
        except OSError:
            seen.closed_by_server["body" if trickles_body else "headers"] += 1
        finally:
            closed.cancel()
            writer.close()


@contextmanager
def slow_clients(base: str, count: int, seconds: float) -> Iterator[Trickle]:
    """`count` trickling connections to `base` for `seconds`, from a background thread."""
    parts = urllib.parse.urlsplit(base)
    assert parts.hostname and parts.port
    stop = time.monotonic() + seconds
    seen = Trickle()

    async def run() -> None:
        await asyncio.gather(
            *(_slow_connection(i, parts.hostname, parts.port, stop, seen) for i in range(count))
        )

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        thread.join(seconds + 10)


def probe(
    base: str,
    seconds: float,
    token: str = TOKEN,
    interval: float = 0.5,
    timeout: float = 5.0,
    path: str = "key?n=main&p=0&m=0",
    health: bool = True,
) -> Probes:
    """Every `interval`, a webhook to `path` signed with `token` and (with `health`) a health
    check, each on its own connection."""
    parts = urllib.parse.urlsplit(base)
    webhook = {**signed_request(base, path, {"Digits": "1"}, token), "method": "POST"}
    check = {"method": "GET", "path": "/healthz", "headers": {}, "body": None}
    probes, lock, threads = Probes(), threading.Lock(), []

    def one(request: dict) -> None:
        started = time.monotonic()
        status = 0
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
            connection.request(
                request["method"],
                request["path"],
                body=request["body"],
                headers={**request["headers"], "Connection": "close"},
            )
            response = connection.getresponse()
            response.read()
            status = response.status
            connection.close()
        except OSError:
            pass
        with lock:
            probes.latencies.append(time.monotonic() - started)
            probes.answered += status == 200

    next_at = time.monotonic()
    end = next_at + seconds
    while next_at < end:
        for request in (webhook, check) if health else (webhook,):
            thread = threading.Thread(target=one, args=(request,), daemon=True)
            thread.start()
            threads.append(thread)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    for thread in threads:
        thread.join(timeout + 1)
    return probes


def scenario(base: str, clients: int, seconds: float, token: str = TOKEN) -> tuple[Trickle, Probes]:
    """Slow clients for `seconds`, probed with webhooks signed with `token` from the second
    second on."""
    with slow_clients(base, clients, seconds + 1) as seen:
        time.sleep(1)  # every slow connection is open and trickling
        probes = probe(base, seconds - 1, token)
    return seen, probes
