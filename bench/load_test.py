"""Load test: many callers walking the menu at once, against the server as the Procfile starts it.

Runs wrk on loopback with signed requests for a bounded time and count, reads each gunicorn
worker's memory before and after, prints the figures and writes them to docs/load-test.md.

    python bench/load_test.py [--seconds 60] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "load-test-token"
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

LUA = """
local requests = %s
local per_thread = %d
local counter = 0
local sent = 0
function request()
  counter = counter %% #requests + 1
  local r = requests[counter]
  return wrk.format("POST", r.path, r.headers, r.body)
end
function response(status, headers, body)
  sent = sent + 1
  if sent >= per_thread then wrk.thread:stop() end
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string for this ASCII


def signed_walk(base: str, call_index: int) -> list[dict[str, object]]:
    validator = RequestValidator(TOKEN)
    requests = []
    for path, extra in WALK:
        params = {
            "CallSid": f"CA{call_index:032d}",
            "From": "+15005550006",
            "To": "+15005550001",
            "CallStatus": "in-progress",
            **extra,
        }
        body = urllib.parse.urlencode(params)
        signature = validator.compute_signature(f"{base}/{path}", params)
        requests.append(
            {
                "path": f"/{path}",
                "body": body,
                "headers": {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature,
                },
            }
        )
    return requests


def to_lua(requests: list[dict[str, object]]) -> str:
    items = []
    for r in requests:
        headers = ", ".join(
            f"[{lua_string(k)}] = {lua_string(v)}"
            for k, v in r["headers"].items()  # type: ignore[union-attr]
        )
        items.append(
            f"{{path = {lua_string(r['path'])}, body = {lua_string(r['body'])}, "
            f"headers = {{{headers}}}}}"
        )
    return "{\n  " + ",\n  ".join(items) + "\n}"


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(port: int, log) -> subprocess.Popen:
    command = next(
        line.removeprefix("web:").strip()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",  # one line per webhook would measure the terminal, not the app
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def parse_wrk(output: str) -> dict[str, float]:
    def number(pattern: str, default: float = 0.0) -> float:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else default

    def latency_ms(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not found:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return float(found.group(1)) * scale

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests": number(r"(\d+) requests in"),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": number(r"Non-2xx or 3xx responses: (\d+)"),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="a bound on the count")
    parser.add_argument("--report", default=str(ROOT / "docs/load-test.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as log:
            server = start_server(port, log)
            try:
                walk = [r for i in range(8) for r in signed_walk(base, i)]
                script = Path(folder) / "walk.lua"
                per_thread = args.max_requests // args.threads
                script.write_text(LUA % (to_lua(walk), per_thread))
                # Warm up, so the memory at the start is the memory of a serving worker.
                subprocess.run(
                    ["wrk", "-t1", "-c2", "-d2s", "-s", str(script), base],
                    capture_output=True,
                    check=True,
                )
                pids = workers(server.pid)
                before = {pid: rss_mib(pid) for pid in pids}
                run = subprocess.run(
                    [
                        "wrk",
                        f"-t{args.threads}",
                        f"-c{args.connections}",
                        f"-d{args.seconds}s",
                        "--timeout",
                        "5s",
                        "--latency",
                        "-s",
                        str(script),
                        base,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=args.seconds + 60,
                    check=True,
                )
                after = {pid: rss_mib(pid) for pid in pids}
                alive = all(Path(f"/proc/{pid}").exists() for pid in pids)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        server_log = log_path.read_text(errors="replace")

    figures = parse_wrk(run.stdout)
    errors = int(figures["non_2xx"] + figures["socket_errors"])
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
    ]
    for pid in pids:
        lines.append(
            f"| worker {pid} memory (RSS), start → end | {before[pid]:.1f} → {after[pid]:.1f} MiB |"
        )
    lines += [
        f"| workers still the same processes | {'yes' if alive else 'NO'} |",
        f"| server errors logged | {server_log.count('ERROR')} |",
        "",
        "Machine: 2 cores, shared by wrk and the server, so the figures are for comparison "
        "between runs, not capacity planning.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    print(run.stdout)
    Path(args.report).write_text(report)
    return 0 if errors == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
