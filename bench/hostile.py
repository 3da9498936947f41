"""Hostile connections: how long a signed webhook waits while a crowd holds the server's
connections open, in the line and in the fallback app.

For each row, a fresh server as the Procfile starts it (2 workers, loopback) and a crowd from
processes of their own (tests/crowd.py): stalled bodies (a POST's header with Content-Length
30000, then nothing), idle sockets, headers trickled a line a second, or floods of unsigned 31 KB
bodies of 4,600 empty fields; each connection opened again at once when the server closes it.
Once the crowd is in, one signed webhook a second, each on a new connection, for --seconds; it
prints the slowest and the median, and writes them to docs/load-test.md (after the load test's
own figures). The rows past 10,000 go on until something breaks.

    python bench/hostile.py [--seconds 15] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import gunicorn, write_part
from tests.crowd import Seen, crowd
from tests.helpers import ROOT, rss_mib, workers
from tests.slow_clients import Probes, probe

HEADING = "# Hostile connections"
APPS = {
    "line": ("ivr.wsgi:app", "voice"),
    "fallback app": ("ivr.fallback:create_fallback_app()", "fallback"),
}
# What each row holds open: (kind, count) pairs.
ROWS: list[tuple[str, list[tuple[str, int]]]] = [
    ("nothing", []),
    ("1,000 stalled bodies", [("stalled", 1000)]),
    ("3,000 stalled bodies", [("stalled", 3000)]),
    ("10,000 stalled bodies", [("stalled", 10_000)]),
    ("5,000 idle sockets", [("idle", 5000)]),
    ("10,000 idle sockets", [("idle", 10_000)]),
    ("5,000 stalled bodies and 5,000 idle sockets", [("stalled", 5000), ("idle", 5000)]),
    ("1,000 headers trickled a line a second", [("trickle", 1000)]),
    ("4 connections flooding 31 KB bodies of 4,600 empty fields", [("flood", 4)]),
    ("4 connections flooding 400 KB headers", [("headers", 4)]),
]
PAST_THE_EDGE: list[tuple[str, list[tuple[str, int]]]] = [
    ("15,000 stalled bodies", [("stalled", 15_000)]),
    ("20,000 stalled bodies", [("stalled", 20_000)]),
    ("30,000 stalled bodies", [("stalled", 30_000)]),
    ("20,000 idle sockets", [("idle", 20_000)]),
    ("30,000 idle sockets", [("idle", 30_000)]),
    ("40,000 idle sockets", [("idle", 40_000)]),
]


@dataclass
class Row:
    app: str
    held: str
    probes: Probes
    crowd: Seen
    rss_mib: float  # the larger worker's, with the crowd in
    cpu_seconds: float  # both workers', over the row
    log_lines: int  # written while the crowd was in
    alive: bool


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_row(app: str, held: str, kinds: list[tuple[str, int]], seconds: float) -> Row:
    served_app, path = APPS[app]
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        env = {"USAGE_DB": str(Path(folder) / "usage.sqlite3")}
        with log_path.open("wb") as log, gunicorn(served_app, log, env) as served:
            pids = workers(served.pid)
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            seen = Seen()
            crowds = [crowd(kind, count, served.url, seconds + 60) for kind, count in kinds]
            entered = [c.__enter__() for c in crowds]
            try:
                lines_before = len(log_path.read_text(errors="replace").splitlines())
                probes = probe(
                    served.url, seconds, interval=1.0, timeout=15, path=path, health=False
                )
                rss = max(rss_mib(pid) for pid in pids)
                lines = len(log_path.read_text(errors="replace").splitlines()) - lines_before
            finally:
                for c in reversed(crowds):
                    c.__exit__(None, None, None)
            for part in entered:
                seen.add(vars(part))
            alive = all(Path(f"/proc/{pid}").exists() for pid in pids)
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    return Row(app, held, probes, seen, rss, cpu, lines, alive)


def held_up(row: Row) -> bool:
    """A webhook waited over 1 s, or went unanswered, or a worker died."""
    return bool(row.probes.over(1)) or row.probes.answered < row.probes.sent or not row.alive


def where_it_breaks(rows: list[Row]) -> list[str]:
    """A sentence for each kind of crowd, from the line's rows: the first that held a webhook
    up, or that none did."""
    said = []
    for kind in ("stalled bodies", "idle sockets"):
        mine = [
            r for r in rows if r.app == "line" and r.held.endswith(kind) and " and " not in r.held
        ]
        broke = next((r for r in mine if held_up(r)), None)
        most = mine[-1].held if mine else "none"
        if broke is None:
            said.append(f"- {kind.capitalize()}: no row held a webhook up, up to {most}.")
        else:
            p = broke.probes
            said.append(
                f"- {kind.capitalize()}: it breaks at {broke.held}: {p.over(1)} of {p.sent} "
                f"webhooks over 1 s, {p.sent - p.answered} unanswered, the slowest "
                f"{p.worst():.1f} s."
            )
    return ["Where it breaks, for the line:", "", *said]


def costs(rows: list[Row]) -> list[str]:
    """What one held connection costs the workers, from the rows that held one kind only."""
    nothing = next((r.rss_mib for r in rows if r.held == "nothing"), 0.0)
    cycles = [
        r.cpu_seconds / r.crowd.closed_by_server
        for r in rows
        if r.held.endswith("stalled bodies") and r.crowd.closed_by_server and not held_up(r)
    ]
    idle = [
        (r.rss_mib - nothing) * 1024 / (r.crowd.opened / 2)
        for r in rows
        if r.held.endswith("idle sockets") and " and " not in r.held and not held_up(r)
    ]
    said = ["What a crowd costs the workers:", ""]
    if cycles:
        said.append(
            f"- a stalled body, each time it is closed at its deadline and comes back: about "
            f"{statistics.median(cycles) * 1e6:,.0f} µs of CPU (workers' CPU over connections "
            "closed), part of it the loopback's own TCP work for the crowd's side;"
        )
    if idle:
        said.append(
            f"- an idle socket, while it waits: about {statistics.median(idle):,.0f} KiB of "
            "memory (the larger worker's growth, for half the crowd), and no CPU."
        )
    return said


def report(rows: list[Row], seconds: float, load: tuple[float, float]) -> str:
    out = [
        HEADING,
        "",
        f"`python bench/hostile.py --seconds {seconds:g}`: for each row a fresh server as the "
        "Procfile starts it (2 workers, 127.0.0.1) and a crowd from processes of their own "
        "(tests/crowd.py), every connection opened again at once when the server closes it. "
        "A stalled body is a POST's whole header with `Content-Length: 30000`, then nothing; an "
        "idle socket sends nothing; a trickled header sends a line a second. Once the crowd is "
        f"in, one signed webhook a second, each on a new connection, for {seconds:g} s "
        "(Twilio gives up at 15 s).",
        "",
        "| app | held open or sent | webhooks answered | median | slowest | over 1 s | "
        "closed by the server | longest open | worker memory | workers' CPU | log lines |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        p = row.probes
        median = statistics.median(p.latencies) if p.latencies else float("nan")
        out.append(
            f"| {row.app} | {row.held} | {p.answered} of {p.sent} | {median * 1000:,.0f} ms | "
            f"{p.worst() * 1000:,.0f} ms | {p.over(1)} | {row.crowd.closed_by_server:,} | "
            f"{row.crowd.longest_open:.1f} s | {row.rss_mib:.0f} MiB | {row.cpu_seconds:.1f} s | "
            f"{row.log_lines}{'' if row.alive else ' (a worker died)'} |"
        )
    out += ["", *where_it_breaks(rows), "", *costs(rows)]
    out += [
        "",
        f"Load average before and after: {load[0]:.2f}, {load[1]:.2f}. The machine has 2 cores, "
        "shared by the crowd, the server and the probes (and by whatever else ran): a real "
        "crowd's own work would be on other machines.",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--quick", action="store_true", help="the line only, up to 10,000")
    parser.add_argument("--report", default=str(ROOT / "docs/load-test.md"))
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    load_before = os.getloadavg()[0]
    rows, failed = [], False
    plan = [(app, held, kinds, True) for app in APPS for held, kinds in ROWS]
    if args.quick:
        plan = [step for step in plan if step[0] == "line"]
    else:
        plan += [("line", held, kinds, False) for held, kinds in PAST_THE_EDGE]
    for app, held, kinds, must_hold in plan:
        row = run_row(app, held, kinds, args.seconds)
        rows.append(row)
        p = row.probes
        print(
            f"{app:13} {held:60} {p.answered}/{p.sent} median {p.median() * 1000:7.0f} ms, "
            f"slowest {p.worst() * 1000:7.0f} ms, over 1 s: {p.over(1)}",
            flush=True,
        )
        failed |= must_hold and held_up(row)
        time.sleep(2)  # the crowd's closed connections leave the kernel's tables
    text = report(rows, args.seconds, (load_before, os.getloadavg()[0]))
    print(text)
    if not args.quick:
        write_part(Path(args.report), HEADING, text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
