"""Fixtures: the real server, started the way the Procfile starts it, on a loopback port."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.common import settled, start_procfile
from ivr.audio.manifest import read_manifest
from ivr.tools.simulated_call import SimulatedCall, http_post

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-auth-token"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    audio_dir: Path = ROOT / "audio"

    def call(self, **kwargs: object) -> SimulatedCall:
        kwargs.setdefault("auth_token", TOKEN)
        entries = read_manifest(self.audio_dir).recordings.values()
        kwargs.setdefault("recordings", {e["file"]: e for e in entries})
        return SimulatedCall(http_post, f"{self.url}/voice", **kwargs)  # type: ignore[arg-type]


def start_server(
    log_path: Path, env: dict[str, str], wait: bool = True, app: str = "ivr.wsgi:app"
) -> Server:
    # The usage counters go beside the log, never into the project's own usage.sqlite3.
    env = {"WEB_CONCURRENCY": "2", "USAGE_DB": str(log_path.parent / "usage.sqlite3"), **env}
    workers = int(env["WEB_CONCURRENCY"])
    process, url = start_procfile(app, log_path.open("wb"), env)
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
                    if response.status == 200 and settled(process.pid, workers):
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


@pytest.fixture(scope="session")
def run_server(tmp_path_factory: pytest.TempPathFactory):
    """Start a server with extra environment; it is stopped at the end of the session."""
    started: list[Server] = []

    @contextmanager
    def run(env: dict[str, str] | None = None, app: str = "ivr.wsgi:app") -> Iterator[Server]:
        log_path = tmp_path_factory.mktemp("server") / "server.log"
        server = start_server(log_path, {"TWILIO_AUTH_TOKEN": TOKEN, **(env or {})}, app=app)
        started.append(server)
        try:
            yield server
        finally:
            stop_server(server)

    yield run
    for server in started:
        stop_server(server)


@pytest.fixture(scope="session")
def server(run_server) -> Iterator[Server]:
    """The line as shipped, with signature checks on."""
    with run_server() as running:
        yield running


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    """A temporary copy of prompts/ that a test may edit."""
    copy = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", copy)
    return copy
