"""Load test: many callers walking the menu at once, against the server as the Procfile starts it.

Runs wrk on loopback with signed requests, bounded in time and count, reads each gunicorn
worker's memory before and after; then holds 100 slow clients open while probing with signed
webhooks (tests/slow_clients.py). Prints the figures and writes them to docs/load-test.md.

    python bench/load_test.py [--seconds 60] [--connections 32] [--slow-clients 100]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import gunicorn, lua_script, run_wrk, write_part
from tests.helpers import ROOT, rss_mib, signed_request, workers
from tests.slow_clients import scenario

# One caller's walk: the greeting, a section read through, a wrong key, a transfer that is
# busy, another section, silence, and the main menu again.
WALK = [
    ("voice", {}),
    ("key?n=main&p=0&m=0", {"Digits": "1"}),
    ("key?n=police&p=0&m=0", {"Digits": "1"}),
    ("key?n=police&p=1&m=0", {"Digits": "1"}),
    ("key?n=police&p=2&m=0", {"Digits": "3"}),
    ("key?n=police&p=1&m=0", {"Digits": "2"}),
    ("key?n=police&p=1&m=0", {}),
    ("key?n=police&p=2&m=0", {"Digits": "*"}),
    ("key?n=main&p=0&m=0", {"Digits": "7"}),
    ("key?n=main&p=0&m=1", {"Digits": "0"}),
    ("dial?n=main&p=0&m=0", {"DialCallStatus": "busy"}),
    ("key?n=main&p=0&m=0", {"Digits": "2"}),
    ("key?n=what_you_can_do&p=0&m=0", {"Digits": "1"}),
    ("key?n=what_you_can_do&p=1&m=0", {}),
    ("key?n=main&p=0&m=0", {}),
    ("key?n=main&p=0&m=1", {"Digits": "3"}),
    ("key?n=reach_advocate&p=0&m=0", {"Digits": "0"}),
    ("dial?n=reach_advocate&p=0&m=0", {"DialCallStatus": "completed"}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="a bound on the count")
    parser.add_argument("--slow-clients", type=int, default=100)
    parser.add_argument("--slow-seconds", type=int, default=30)
    parser.add_argument("--report", default=str(ROOT / "docs/load-test.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        script = Path(folder) / "walk.lua"
        with log_path.open("wb") as log, gunicorn("ivr.wsgi:app", log) as served:
            base = served.url
            script.write_text(
                lua_script(
                    [signed_request(base, path, extra) for path, extra in WALK],
                    args.max_requests // args.threads,
                )
            )
            run_wrk(base, script, 2, connections=2, threads=1)  # warm up
            pids = workers(served.pid)
            before = {pid: rss_mib(pid) for pid in pids}
            figures = run_wrk(base, script, args.seconds, args.connections, args.threads)
            after = {pid: rss_mib(pid) for pid in pids}
            alive = all(Path(f"/proc/{pid}").exists() for pid in pids)
            trickle, probes = scenario(base, args.slow_clients, args.slow_seconds)
        server_log = log_path.read_text(errors="replace")

    errors = int(figures["errors"])
    lines = [
        "# Load test",
        "",
        f"`python bench/load_test.py --seconds {args.seconds} --connections {args.connections}`: "
        f"gunicorn as the Procfile starts it ({len(pids)} workers) on 127.0.0.1, "
        f"wrk with {args.threads} threads and {args.connections} connections, each replaying "
        f"signed webhooks of callers walking the menu ({len(WALK)} steps a call), "
        f"for {args.seconds} s.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| requests | {figures['requests']:,.0f} |",
        f"| requests per second | {figures['rps']:,.0f} |",
        f"| latency p50 | {figures['p50_ms']:.2f} ms |",
        f"| latency p99 | {figures['p99_ms']:.2f} ms |",
        f"| errors (non-2xx, socket) | {errors} |",
        *(
            f"| worker {pid} memory (RSS), start → end | {before[pid]:.1f} → {after[pid]:.1f} MiB |"
            for pid in pids
        ),
        f"| workers still the same processes | {'yes' if alive else 'NO'} |",
        f"| server errors logged | {server_log.count(' ERROR ')} |",
        "",
        "## Slow clients",
        "",
        f"Then, for {args.slow_seconds} s, {args.slow_clients} connections that never finish "
        "their request: half send one header line a second, half a whole POST header and then "
        "one byte of body a second, each reconnecting at once when the server closes it. "
        "Meanwhile a signed webhook and a health check every half second, each on a new "
        "connection.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| probes sent, answered 200 | {probes.sent}, {probes.answered} |",
        f"| slowest answer | {probes.worst() * 1000:.0f} ms |",
        f"| answers slower than 1 s | {probes.over(1)} |",
        f"| slow connections opened (reconnections included) | {trickle.opened} |",
        "| closed by the server: header tricklers, body tricklers | "
        f"{trickle.closed_by_server['headers']}, {trickle.closed_by_server['body']} |",
        "",
        "Machine: 2 cores, shared by wrk and the server, so the figures are for comparison "
        "between runs, not capacity planning.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    write_part(Path(args.report), lines[0], report)
    slow_ok = probes.answered == probes.sent and probes.over(1) == 0
    return 0 if errors == 0 and alive and slow_ok else 1


if __name__ == "__main__":
    sys.exit(main())
