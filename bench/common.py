"""What the benchmark scripts share, beyond tests/helpers.py: a server for a run, and wrk."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.helpers import TOKEN, settled, start_procfile


@dataclass(frozen=True)
class Served:
    url: str
    pid: int  # gunicorn's master; `exec` makes it the process started here


@contextmanager
def gunicorn(
    app: str, log: IO[bytes], env: dict[str, str] | None = None, public: bool = True
) -> Iterator[Served]:
    """Serve `app` with the Procfile's command on a loopback port, signatures checked, set up
    as in production (PUBLIC_BASE_URL)."""
    process, base = start_procfile(
        app, log, {"TWILIO_AUTH_TOKEN": TOKEN, **(env or {})}, public=public
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # A long wait: a request given up before the workers start would be left to them.
                with urllib.request.urlopen(f"{base}/healthz", timeout=10):
                    pass
                if settled(process.pid, int(os.environ.get("WEB_CONCURRENCY", "2"))):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{app} did not start")
            time.sleep(0.1)
        yield Served(base, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


_LUA = """
local requests = %s
local per_thread = %d
local counter = 0
local sent = 0
function request()
  counter = counter %% #requests + 1
  local r = requests[counter]
  return wrk.format(r.method or "POST", r.path, r.headers, r.body)
end
function response(status, headers, body)
  sent = sent + 1
  if sent >= per_thread then wrk.thread:stop() end
end
"""


def lua_script(requests: list[dict[str, object]], per_thread: int) -> str:
    """A wrk script replaying `requests` in turn, each thread stopping after `per_thread`."""

    def string(text: object) -> str:
        return json.dumps(str(text))  # a JSON string of ASCII is a Lua string too

    items = []
    for r in requests:
        headers = ", ".join(
            f"[{string(k)}] = {string(v)}"
            for k, v in r["headers"].items()  # type: ignore[union-attr]
        )
        fields = [f"path = {string(r['path'])}", f"headers = {{{headers}}}"]
        if r.get("body") is not None:
            fields.append(f"body = {string(r['body'])}")
        if r.get("method"):
            fields.append(f"method = {string(r['method'])}")
        items.append("{" + ", ".join(fields) + "}")
    return _LUA % ("{\n  " + ",\n  ".join(items) + "\n}", per_thread)


def run_wrk(
    base: str,
    script: Path,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
) -> dict[str, float]:
    """Run wrk (bounded by time, and by count inside the script); return its figures."""
    run = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return parse_wrk(run.stdout)


def parse_wrk(output: str) -> dict[str, float]:
    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else 0.0

    def latency_ms(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not found:
            return float("nan")
        return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests": number(r"(\d+) requests in"),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "errors": number(r"Non-2xx or 3xx responses: (\d+)")
        + (sum(int(g) for g in errors.groups()) if errors else 0),
        "output": output,  # type: ignore[dict-item]
    }


def write_part(path: Path, heading: str, text: str) -> None:
    """Write `text`, which starts with the top-level `heading`, into the file at `path` in place
    of the part under that heading (or after the others): two scripts share one file."""
    parts: list[str] = []
    if path.exists():
        for line in path.read_text().splitlines(keepends=True):
            if line.startswith("# ") or not parts:
                parts.append("")
            parts[-1] += line
    mine = [i for i, part in enumerate(parts) if part.startswith(heading + "\n")]
    if mine:
        parts[mine[0]] = text.rstrip("\n") + "\n\n"
    else:
        parts.append(("\n" if parts and not parts[-1].endswith("\n\n") else "") + text)
    path.write_text("".join(parts).rstrip("\n") + "\n")
