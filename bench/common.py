"""What the benchmark scripts share: the server as the Procfile starts it, signing, wrk."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "benchmark-token"
CALLER = {"CallSid": "CA" + "0" * 32, "From": "+15005550006", "To": "+15005550001"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(app: str = "ivr.wsgi:app") -> str:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    return line.removeprefix("web:").strip().replace("ivr.wsgi:app", app)


@dataclass(frozen=True)
class Served:
    url: str
    pid: int  # gunicorn's master; `exec` makes it the process started here


def start_procfile(
    app: str, log: IO[bytes], env: dict[str, str] | None = None, public: bool = False
) -> tuple[subprocess.Popen, str]:
    """Start the Procfile's web command for `app` on a loopback port; return it and its URL.

    `public`: as in production, PUBLIC_BASE_URL names the address (here, the loopback one).
    """
    port = free_port()
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        # gunicorn lives beside the interpreter running this.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **({"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"} if public else {}),
        **(env or {}),
    }
    process = subprocess.Popen(
        ["bash", "-c", f"exec {procfile_command(app)}"],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


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


def settled(master: int, count: int, seconds: float = 1.0) -> bool:
    """All `count` workers exist and have run for `seconds`.

    A worker answers soon after it starts, but until it has set up its own signal handlers a
    stop signal from the master is lost on it, and it is only stopped at the graceful timeout.
    """
    pids = workers(master)
    if len(pids) < count:
        return False
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for pid in pids:
        # Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        if uptime - started < seconds:
            return False
    return True


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def signed_request(base: str, path: str, extra: dict[str, str]) -> dict[str, object]:
    """One webhook as Twilio sends it: path, form body and signature headers."""
    params = {**CALLER, "CallStatus": "in-progress", **extra}
    signature = RequestValidator(TOKEN).compute_signature(f"{base}/{path}", params)
    return {
        "path": f"/{path}",
        "body": urllib.parse.urlencode(params),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    }


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
