"""What the tests share: signed webhooks, one-file edits, the `ivr` command, and the server
started as the Procfile starts it.

bench/ uses these too, so nothing here needs pytest.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO

import pytest
from twilio.request_validator import HMAC_SHA1, RequestValidator

from ivr.audio.manifest import read_manifest
from ivr.tools.simulated_call import HttpReply, SimulatedCall, http_post

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-auth-token"
# Twilio's test numbers, for webhooks sent outside a SimulatedCall.
CALLER = {"CallSid": "CA" + "0" * 32, "From": "+15005550006", "To": "+15005550001"}


# --- signed webhooks ----------------------------------------------------------------------------


def sign(
    url: str, params: Mapping[str, str], token: str = TOKEN, algorithm: str = HMAC_SHA1
) -> str:
    """X-Twilio-Signature as Twilio computes it for `params` sent to `url`."""
    signature: str = RequestValidator(token).compute_signature(url, dict(params), algorithm)
    return signature


def signed_post(url: str, params: dict[str, str], token: str = TOKEN, **headers: str) -> HttpReply:
    """POST `params` to `url` as Twilio does, signed for the URL Twilio called.

    With a Host header, Twilio called that host: the signature is for it.
    """
    called = url
    if "Host" in headers:
        called = urllib.parse.urlsplit(url)._replace(netloc=headers["Host"]).geturl()
    return http_post(url, params, {"X-Twilio-Signature": sign(called, params, token), **headers})


def signed_request(
    base: str, path: str, extra: dict[str, str], token: str = TOKEN
) -> dict[str, object]:
    """One webhook as raw parts (path, form body, headers), for wrk and hand-made connections."""
    params = {**CALLER, "CallStatus": "in-progress", **extra}
    return {
        "path": f"/{path}",
        "body": urllib.parse.urlencode(params),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(f"{base}/{path}", params, token),
        },
    }


# --- files and commands -------------------------------------------------------------------------


def edit(path: Path, old: str, new: str) -> int:
    """Replace `old`, which must stand exactly once in the file; return the line it stood on."""
    text = path.read_text(encoding="utf-8")
    found = text.count(old)
    if found != 1:
        raise AssertionError(f"{path.name}: {old!r} is there {found} times, not once")
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


IVR = str(Path(sys.executable).parent / "ivr")
# Every setting, as .env.example lists them.
SETTING_NAMES = re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)


def ivr(
    *args: str, stdin: str = "", timeout: float = 60, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the `ivr` command installed beside this Python, as staff run it, in `cwd` (default:
    the project's folder); `env` is added to the environment (an empty value reads as unset).

    In the project's folder, a developer's own `.env` is not read: every setting is set, empty
    unless the environment has it, and a variable already set wins over `.env`.
    """
    unset = {} if cwd else {name: "" for name in SETTING_NAMES if name not in os.environ}
    return subprocess.run(
        [IVR, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**unset, **os.environ, **env},
        cwd=cwd,
    )


# --- the server, as the Procfile starts it ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def procfile_command(app: str = "ivr.wsgi:app") -> str:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    return line.removeprefix("web:").strip().replace("ivr.wsgi:app", app)


def start_procfile(
    app: str,
    log: IO[bytes],
    env: dict[str, str] | None = None,
    public: bool = False,
    cwd: Path = ROOT,
    open_files: tuple[int, int] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the Procfile's web command for `app` on a loopback port, in `cwd`; return it and
    its URL.

    `public`: as in production, PUBLIC_BASE_URL names the address (here, the loopback one).
    `open_files`: the open-file limit (soft, hard) it starts with, as a host would set it.
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
        cwd=cwd,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files))
        if open_files
        else None,
    )
    return process, f"http://127.0.0.1:{port}"


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
    """The worker processes of a gunicorn master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mib(pid: int) -> float:
    """A process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Server:
    """A running server: its URL, its process (gunicorn's master) and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    audio_dir: Path = ROOT / "audio"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, **kwargs: object) -> SimulatedCall:
        """A call to this server, signed with TOKEN, timed from this server's recordings."""
        kwargs.setdefault("auth_token", TOKEN)
        entries = read_manifest(self.audio_dir).recordings.values()
        kwargs.setdefault("recordings", {e["file"]: e for e in entries})
        return SimulatedCall(http_post, f"{self.url}/voice", **kwargs)  # type: ignore[arg-type]


def start_server(
    log_path: Path,
    env: dict[str, str],
    wait: bool = True,
    app: str = "ivr.wsgi:app",
    cwd: Path = ROOT,
    open_files: tuple[int, int] | None = None,
) -> Server:
    """Start the Procfile's command with `env` in `cwd`; with `wait`, return once every worker
    answers."""
    # The usage counters go beside the log, never into the project's own usage.sqlite3.
    env = {"WEB_CONCURRENCY": "2", "USAGE_DB": str(log_path.parent / "usage.sqlite3"), **env}
    count = int(env["WEB_CONCURRENCY"])
    process, url = start_procfile(app, log_path.open("wb"), env, cwd=cwd, open_files=open_files)
    server = Server(url, process, log_path)
    if "AUDIO_DIR" in env:
        server.audio_dir = Path(env["AUDIO_DIR"])
    if wait:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited at start-up:\n{server.log()}")
            try:
                # A long wait: a request given up before the workers start would be left to them.
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
                    if response.status == 200 and settled(process.pid, count):
                        return server
            except OSError:
                pass
            time.sleep(0.1)
        stop_server(server)
        raise AssertionError(f"server did not answer /healthz within 30 s:\n{server.log()}")
    return server


def failed_start(log_path: Path, env: dict[str, str]) -> tuple[int, str]:
    """Start a server that should refuse to start: its exit code and what it printed."""
    server = start_server(log_path, env, wait=False)
    try:
        code = server.process.wait(timeout=30)
    finally:
        stop_server(server)
    return code, server.log()


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# --- the browser -------------------------------------------------------------------------------


def chromium_or_skip(untested: str) -> tuple[str, ModuleType]:
    """Chromium's path and Playwright's sync API; without them, the calling module is skipped,
    saying that `untested` is untested."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            f"Chromium is not installed (apt-get install chromium); {untested} is untested",
            allow_module_level=True,
        )
    return chromium, sync_api
