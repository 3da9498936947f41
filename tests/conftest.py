"""Fixtures: the shipped line, the app in-process and its client, and the real server started
the way the Procfile starts it, on a loopback port.

A test that takes `section_id` or `en_prompt_id` runs once for each section, or each English
prompt, of the shipped line.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.menu.load import load_line
from ivr.menu.model import PhoneLine, Prompt
from ivr.web.app import create_app
from ivr.web.settings import Settings
from tests.helpers import ROOT, TOKEN, Server, start_server, stop_server


@functools.cache
def _shipped_line() -> PhoneLine:
    # Shared with pytest_generate_tests, which runs before any fixture: one load per session.
    return load_line(ROOT / "prompts")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "section_id" in metafunc.fixturenames:
        metafunc.parametrize("section_id", list(_shipped_line().sections))
    if "en_prompt_id" in metafunc.fixturenames:
        metafunc.parametrize("en_prompt_id", sorted(_shipped_line().languages["en"].prompts))


@pytest.fixture(scope="session")
def line() -> PhoneLine:
    """The line as shipped in prompts/."""
    return _shipped_line()


@pytest.fixture(scope="session")
def en(line: PhoneLine) -> Mapping[str, Prompt]:
    """The shipped English prompts, by id."""
    return line.languages["en"].prompts


@pytest.fixture(scope="session")
def es(line: PhoneLine) -> Mapping[str, Prompt]:
    """The shipped Spanish prompts, by id."""
    return line.languages["es"].prompts


@pytest.fixture(scope="session")
def app() -> Flask:
    """The shipped line in-process, checking signatures against TOKEN.

    Shared by the session: what it keeps between requests is a cache of answers by call state.
    """
    return create_app(
        Settings(
            auth_token=TOKEN,
            prompts_dir=ROOT / "prompts",
            audio_dir=ROOT / "audio",
            log_level="ERROR",
        )
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


RunServer = Callable[..., AbstractContextManager[Server]]


@pytest.fixture(scope="session")
def run_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunServer]:
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
def server(run_server: RunServer) -> Iterator[Server]:
    """The line as shipped, with signature checks on."""
    with run_server() as running:
        yield running


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    """A temporary copy of prompts/ that a test may edit."""
    copy = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", copy)
    return copy
