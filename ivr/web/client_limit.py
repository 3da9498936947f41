"""A few calls a minute from each client: the browser phone's limit when it is on in production.

What it keeps is the least that can do that: for each address that placed a call in the last
minute, a keyed hash of it (an IPv6 address by its /64, which one client holds whole), how
many calls it may still place, and when it last did. An address is forgotten once a minute has
passed since its last call, and none of it is ever logged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import time
from collections.abc import Callable

MAX_CLIENTS = 10_000  # at once: past this, new clients wait, so memory stays small
WINDOW = 60.0  # seconds: `calls` may be placed at once, then one each WINDOW / calls seconds


class CallsPerClient:
    def __init__(
        self, calls: int, clock: Callable[[], float] = time.monotonic, clients: int = MAX_CLIENTS
    ) -> None:
        self.calls = calls
        self.clock = clock
        self.clients = clients
        self._key = secrets.token_bytes(16)  # made at start, held only in memory
        self._left: dict[bytes, tuple[float, float]] = {}  # client -> (calls left, when)
        self._swept = clock()

    def allow(self, address: str | None) -> bool:
        """One more call from `address`, unless it has placed its calls for now."""
        now = self.clock()
        if now - self._swept >= WINDOW:
            self._swept = now
            self._left = {k: v for k, v in self._left.items() if now - v[1] < WINDOW}
        who = self._client(address or "")
        left = self._refilled(who, now)
        if left < 1 or (who not in self._left and len(self._left) >= self.clients):
            return False
        self._left[who] = (left - 1, now)
        return True

    def seconds_to_wait(self, address: str | None) -> int:
        """Until `address` may place a call again."""
        left = self._refilled(self._client(address or ""), self.clock())
        return max(1, math.ceil((1 - left) * WINDOW / self.calls))

    def _refilled(self, who: bytes, now: float) -> float:
        left, when = self._left.get(who, (self.calls, now))
        return min(self.calls, left + (now - when) * self.calls / WINDOW)

    def _client(self, address: str) -> bytes:
        try:
            ip = ipaddress.ip_address(address)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                address = str(ip.ipv4_mapped)
            elif ip.version == 6:
                address = str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
        except ValueError:
            pass
        return hashlib.blake2b(address.encode(), key=self._key, digest_size=8).digest()
