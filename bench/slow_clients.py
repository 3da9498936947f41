"""Slow clients: does the line keep answering while many connections trickle in?

Opens N connections that never finish their request, each reconnecting when the server closes
it, while signed webhooks and health checks probe the line every half second; the scenario
itself is in tests/slow_clients.py, shared with the tests.

    python bench/slow_clients.py http://127.0.0.1:PORT [--clients 100] [--seconds 30]

Used by bench/load_test.py (figures in docs/load-test.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import TOKEN
from tests.slow_clients import scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="like http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--token", default=TOKEN, help="the server's TWILIO_AUTH_TOKEN")
    args = parser.parse_args()
    seen, probes = scenario(args.base.rstrip("/"), args.clients, args.seconds, args.token)
    print(
        f"{probes.sent} probes, {probes.answered} answered 200, worst {probes.worst():.3f} s, "
        f"{probes.over(1)} over 1 s; slow connections: {seen.opened} opened, closed by the "
        f"server {seen.closed_by_server}"
    )


if __name__ == "__main__":
    main()
