"""The `ivr` command as a person meets it: its version, `.env`, the address `ivr serve` prints,
and every failure told in a line or two, never as a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.helpers import IVR, ROOT, TOKEN, free_port, ivr, start_server, stop_server

CONTENT = {"PROMPTS_DIR": str(ROOT / "prompts"), "AUDIO_DIR": str(ROOT / "audio")}


def told_in_words(result: subprocess.CompletedProcess[str], *said: str) -> None:
    """A failure: exit status not 0, at most two lines on stderr, no traceback, saying `said`."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, result.stderr
    for words in said:
        assert words in result.stderr


def get(url: str) -> tuple[int, str, str]:
    """Status, Content-Type and body of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location") or "", error.read().decode()


def test_ivr_says_its_version():
    result = ivr("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ivr {version('ivr')}"


def test_python_m_ivr_is_the_ivr_command_where_only_requirements_are_installed():
    """A Heroku dyno installs requirements.txt, not the `ivr` script: its Scheduler runs
    `python -m ivr delete-call-logs` in the app's folder."""
    result = subprocess.run(
        [sys.executable, "-m", "ivr", "delete-call-logs"],
        cwd=ROOT,
        # Set, if empty: a developer's own .env is not read over them.
        env={"PATH": os.environ["PATH"], "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    told_in_words(result, "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")


class Serving:
    """`ivr serve` started in a folder, as a person starts it, until stopped with Ctrl+C."""

    def __init__(self, folder: Path, *args: str, **env: str) -> None:
        clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "PHONE_PAGE")}
        self.process = subprocess.Popen(
            [IVR, "serve", *args],
            cwd=folder,
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("ivr serve did not listen within 30 s")

    def stop(self) -> tuple[int, str, str]:
        """Ctrl+C, as a person stops it."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=15)
        return self.process.returncode, out, err


def test_ivr_serve_reads_env_and_prints_the_address_of_the_browser_phone(tmp_path):
    port = free_port()
    lines = [f"PORT={port}", "PHONE_PAGE=on", *(f"{k}={v}" for k, v in CONTENT.items())]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    serving = Serving(tmp_path)
    try:
        serving.wait_for(port)
        status, location, _ = get(f"http://127.0.0.1:{port}/")
        assert status == 302 and location.endswith("/phone")
        # As staff.md says: the printed address, with ?rate=4, slows the browser phone too.
        assert get(f"http://127.0.0.1:{port}/?rate=4")[1].endswith("/phone?rate=4")
        assert get(f"http://127.0.0.1:{port}/phone")[0] == 200
    finally:
        code, out, err = serving.stop()
    assert f"Call it from your browser: http://127.0.0.1:{port}/\n" in out
    assert "The line has stopped." in out
    assert code == 0 and "Traceback" not in err


def test_a_variable_already_set_wins_over_env(tmp_path):
    port, other = free_port(), free_port()
    (tmp_path / ".env").write_text(f"PORT={other}\nPHONE_PAGE=on\n")
    serving = Serving(tmp_path, **CONTENT, PORT=str(port), PHONE_PAGE="off")
    try:
        serving.wait_for(port)
        status, content_type, body = get(f"http://127.0.0.1:{port}/")
    finally:
        _, out, _ = serving.stop()
    # Not a 404: what this server is, and that its browser phone is off.
    assert status == 200 and content_type.startswith("text/plain")
    assert "/voice" in body and "PHONE_PAGE" in body
    assert f"The line is running at http://127.0.0.1:{port}/ (the browser phone is off" in out


def test_the_server_the_procfile_starts_reads_no_env_file(tmp_path):
    # Were .env read, the browser phone would be on and the log at DEBUG.
    (tmp_path / ".env").write_text("PHONE_PAGE=on\nLOG_LEVEL=DEBUG\n")
    server = start_server(
        tmp_path / "server.log", {"TWILIO_AUTH_TOKEN": TOKEN, **CONTENT}, cwd=tmp_path
    )
    try:
        assert get(f"{server.url}/phone")[0] == 404
        status, _, body = get(f"{server.url}/")
        assert status == 200 and "browser phone is off" in body
    finally:
        stop_server(server)
    assert "DEBUG" not in server.log()


def test_a_bad_value_in_env_is_named(tmp_path):
    (tmp_path / ".env").write_text("PORT=50OO\n")
    told_in_words(ivr("serve", cwd=tmp_path, **CONTENT), "PORT should be a port number", "50OO")
    (tmp_path / ".env").write_text("LOG_LEVEL=loud\n")
    told_in_words(ivr("serve", cwd=tmp_path, **CONTENT), "LOG_LEVEL should be DEBUG")
    (tmp_path / ".env").write_bytes(b"PORT=5000\nNAME=\xff\xfe\n")
    told_in_words(ivr("check", cwd=tmp_path, **CONTENT), ".env is not UTF-8 text")
    (tmp_path / ".env").write_text("LOG_LEVEL=INFO\nthe token is below\n")
    result = ivr("check", cwd=tmp_path, **CONTENT)
    assert ".env: line 2 is not NAME=value; it was skipped" in result.stderr
    assert "python-dotenv" not in result.stderr


def test_ivr_call_to_a_server_that_is_down_says_what_to_do():
    port = free_port()  # nothing listens there
    result = ivr("call", f"http://127.0.0.1:{port}", "--keys", "1")
    told_in_words(result, f"cannot reach http://127.0.0.1:{port}/voice", "make run")


@pytest.mark.parametrize("url", ["line.example.org", "ftp://line.example.org", "http://", ":5000"])
def test_ivr_call_to_a_bad_url_says_what_an_address_looks_like(url):
    told_in_words(ivr("call", url, "--keys", "1"), "is not a web address", "https://")


def test_ivr_call_refused_by_the_line_says_why(server):
    result = ivr("call", server.url, "--keys", "1", TWILIO_AUTH_TOKEN="not-the-lines-token")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "application error: HTTP 403" in result.stdout
    assert "TWILIO_AUTH_TOKEN here is not the line's" in result.stderr
    result = ivr("call", server.url, "--keys", "1", TWILIO_AUTH_TOKEN="")
    assert "TWILIO_AUTH_TOKEN here is not set" in result.stderr


@pytest.mark.parametrize("command", ["serve", "studio"])
def test_a_port_in_use_is_said_in_words(command):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ivr(command, "--port", str(port), timeout=30)
    told_in_words(result, f"port {port} is in use by another program", "--port")


@pytest.mark.parametrize(
    "host,says",
    [
        ("no-such-host.invalid", "not an address this computer knows"),
        ("192.0.2.1", "not an address of this computer"),
    ],
)
def test_an_address_that_is_not_this_computers_is_said_in_words(host, says):
    told_in_words(ivr("serve", "--host", host, "--port", str(free_port())), says, "127.0.0.1")


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["listen"],
        ["call", "--keys", "1"],
        ["graph"],
        ["usage"],
        ["serve"],
        ["studio"],
        ["audio", "build"],
        ["connect", "+15005550006", "--url", "https://line.example.org"],
        ["delete-call-logs"],
    ],
)
def test_every_command_run_in_the_wrong_folder_says_so(tmp_path, args):
    env = {"PROMPTS_DIR": "", "AUDIO_DIR": "", "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
    result = ivr(*args, cwd=tmp_path, timeout=60, PORT=str(free_port()), **env)
    told_in_words(result)
    assert any(
        words in result.stderr
        for words in ("no prompts/ in", "pip install", "set TWILIO_ACCOUNT_SID")
    ), result.stderr


def test_a_file_that_cannot_be_written_is_said_in_words(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    told_in_words(ivr("graph", "--svg", str(tmp_path / "taken" / "flow.svg")), "taken")


def test_ctrl_c_during_a_call_stops_it_without_a_traceback():
    process = subprocess.Popen(
        [IVR, "call"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while "waiting for" not in process.stdout.readline():  # the call waits for a key
        assert time.monotonic() < deadline and process.poll() is None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 130
    assert err.strip() == "ivr: stopped." and "Traceback" not in err
