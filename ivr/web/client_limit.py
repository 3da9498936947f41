"""A few calls a minute from each client: the browser phone's limit when it is on in production.

What it keeps is the least that can do that: for the current minute only, a keyed hash of each
address that placed a call (an IPv6 address by its /64, which one client holds whole) and how
many calls; all of it is dropped when the minute ends, and none of it is ever logged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections.abc import Callable

MAX_CLIENTS = 10_000  # in one minute: past this, new clients wait, so memory stays small


class CallsPerClient:
    def __init__(
        self, calls: int, clock: Callable[[], float] = time.monotonic, clients: int = MAX_CLIENTS
    ) -> None:
        self.calls = calls
        self.clock = clock
        self.clients = clients
        self._key = secrets.token_bytes(16)  # made at start, held only in memory
        self._minute = -1
        self._placed: dict[bytes, int] = {}

    def allow(self, address: str | None) -> bool:
        """One more call from `address`, unless it has placed its calls for this minute."""
        minute = int(self.clock() // 60)
        if minute != self._minute:
            self._minute, self._placed = minute, {}
        who = self._client(address or "")
        placed = self._placed.get(who, 0)
        if placed >= self.calls or (not placed and len(self._placed) >= self.clients):
            return False
        self._placed[who] = placed + 1
        return True

    def seconds_left(self) -> int:
        """Until the minute ends and every client may call again."""
        return 60 - int(self.clock() % 60)

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
