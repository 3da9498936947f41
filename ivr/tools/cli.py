"""The `ivr` command: run the line locally, and the staff's tools.

Every command reads `.env` in the working folder first, never overriding a variable already
set. A person at the terminal is told in a line or two what went wrong and what to do: never
a traceback.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
import sys
import traceback
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ivr.audio.extra import install_audio
from ivr.errors import ConfigError
from ivr.web.settings import Settings, SettingsError

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer


def _fail(error: Exception | str) -> NoReturn:
    click.echo(f"ivr: {error}", err=True)
    sys.exit(2)


class _Ivr(click.Group):
    """The command group, turning whatever a command raises into words for a person."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click says these itself
        except (ConfigError, SettingsError) as error:
            _fail(error)
        except KeyboardInterrupt:
            click.echo("\nivr: stopped.", err=True)
            sys.exit(130)
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # output piped into a command that stopped reading: click ends quietly
            _fail(error)
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            click.echo(f"ivr: unexpected error: {type(error).__name__}: {error}", err=True)
            click.echo(
                f"(in {Path(where.filename).name}, line {where.lineno}: a fault of ivr itself; "
                "please report it with the command you ran)",
                err=True,
            )
            sys.exit(1)


@click.group(cls=_Ivr)
@click.version_option(package_name="ivr", message="%(prog)s %(version)s")
def main() -> None:
    """A Twilio phone line that reads the guide "Calling the Police"."""
    read_env_file(Path(".env"))


def read_env_file(path: Path) -> None:
    """Variables from `path` (a `.env`), where the environment does not already set them.

    Only the `ivr` command reads it: the server a platform starts reads its real environment.
    """
    from dotenv import load_dotenv

    # python-dotenv names a line it cannot read, not the file: that is said here.
    unread = _Unread()
    dotenv_log = logging.getLogger("dotenv.main")
    dotenv_log.addHandler(unread)
    dotenv_log.propagate = False
    try:
        load_dotenv(path, override=False)
    except UnicodeDecodeError:
        _fail(f"{path} is not UTF-8 text: save it as UTF-8")
    finally:
        dotenv_log.removeHandler(unread)
        dotenv_log.propagate = True
    for line in unread.lines:
        click.echo(f"ivr: {path}: line {line} is not NAME=value; it was skipped", err=True)


class _Unread(logging.Handler):
    """The lines of a `.env` python-dotenv could not read, from its warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"line (\d+)", record.getMessage())
        if found:
            self.lines.append(int(found.group(1)))


def _check_can_listen(host: str, port: int, port_hint: str) -> None:
    """Fail, saying why in words, if a server could not listen on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as werkzeug chooses
    anywhere = "use 127.0.0.1 (this computer only) or 0.0.0.0 (every network)"
    try:
        address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]
    except socket.gaierror:
        _fail(f"--host {host} is not an address this computer knows: {anywhere}")
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        _fail(
            {
                errno.EADDRINUSE: f"port {port} is in use by another program: stop it, or "
                f"choose another port with {port_hint}",
                errno.EADDRNOTAVAIL: f"{host} is not an address of this computer: {anywhere}",
                errno.EACCES: f"port {port} needs administrator rights: choose one above 1023 "
                f"with {port_hint}",
            }.get(error.errno or 0, f"cannot listen on {host}:{port}: {error.strerror}")
        )


def _listening(app: Any, host: str, port: int) -> BaseWSGIServer:
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True)


def _address(host: str, port: int) -> str:
    """An address a browser on this computer can open for a server listening on host:port."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host)
    if shown is None:
        shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _port_from_env() -> int:
    value = os.environ.get("PORT", "").strip() or "5000"
    if not (value.isdigit() and 1 <= int(value) <= 65535):
        _fail(f"PORT should be a port number from 1 to 65535, not {value!r} (in .env or the shell)")
    return int(value)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on.  [default: $PORT or 5000]"
)
def serve(host: str, port: int | None) -> None:
    """Run the line locally, with a phone in the browser to call it."""
    from ivr.web.app import create_app

    port = port or _port_from_env()
    _check_can_listen(host, port, "--port, or PORT in .env")
    settings = Settings.from_env()
    app = create_app(settings)
    # The development server logs each request's URL, which holds where the call is.
    logging.getLogger("werkzeug").setLevel(
        logging.INFO if logging.getLogger("ivr").isEnabledFor(logging.DEBUG) else logging.WARNING
    )
    server = _listening(app, host, port)
    url = _address(host, port)
    if settings.phone_page_enabled:
        click.echo(f"The line is running. Call it from your browser: {url}/")
    else:
        why = (
            "PHONE_PAGE=off"
            if settings.phone_page == "off"
            else "a webhook secret is set; PHONE_PAGE=on serves it all the same"
        )
        click.echo(f"The line is running at {url}/ (the browser phone is off: {why}).")
    click.echo(f"Twilio would call {url}/voice with POST. Ctrl+C stops the line.")
    server.serve_forever()  # returns on Ctrl+C
    click.echo("The line has stopped.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON, for tools.")
def check(as_json: bool) -> None:
    """Check the prompts against the document, the recordings and the menu.

    Exits 0 only when there are no errors; warnings alone do not fail.
    """
    from ivr.tools.check import run_check, summary

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        _fail(error)
    problems = run_check(settings.prompts_dir, settings.audio_dir)
    result = summary(problems)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for problem in problems:
            click.echo(problem.render())
        verdict = (
            "clean"
            if not problems
            else f"{result['errors']} error(s), {result['warnings']} warning(s)"
        )
        click.echo(f"ivr check: {verdict}", err=bool(problems))
    sys.exit(0 if result["ok"] else 1)


@main.command()
@click.option(
    "--verbose", is_flag=True, help="Also give each recording's pace and where its numbers are."
)
def listen(verbose: bool) -> None:
    """Listen to the recordings by machine: no symbol read aloud, numbers digit by digit.

    Needs the recognizer: .venv/bin/pip install -e '.[dev]' (or '.[audio]'). Exits 0 only
    without errors.
    """
    try:
        from ivr.audio.build.listen import listen_all
    except ImportError as error:
        _fail(RuntimeError(f"{error.name} is missing; install it: {install_audio()}"))
    try:
        settings = Settings.from_env()
        heard, skipped = listen_all(settings.prompts_dir, settings.audio_dir)
    except (ConfigError, SettingsError) as error:
        _fail(error)
    problems = [problem for recording in heard for problem in recording.problems()]
    for recording in heard:
        if verbose:
            click.echo(recording.summary())
    for problem in problems:
        click.echo(problem.render())
    for line in skipped:
        click.echo(f"not listened to: {line}")
    errors = sum(p.severity == "error" for p in problems)
    numbers = sum(len(r.numbers) for r in heard)
    click.echo(
        f"ivr listen: {len(heard)} recording(s), {numbers} number(s) heard; "
        + (f"{errors} error(s), {len(problems) - errors} warning(s)" if problems else "clean"),
        err=bool(problems),
    )
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("url", required=False)
@click.option(
    "--keys",
    help="Keys to press, comma-separated; an empty item is silence, words are speech. At a "
    "transfer, the next item is its outcome: answered, busy, no-answer or failed. Without "
    "--keys, type as you go.",
)
@click.option("--audio", "play_audio", is_flag=True, help="Also play the recordings out loud.")
@click.option(
    "--timeline",
    is_flag=True,
    help="Start each line with the seconds from answer at which the caller hears it.",
)
def call(url: str | None, keys: str | None, play_audio: bool, timeline: bool) -> None:
    """Call the line from the terminal: the app in-process, or the server at URL."""
    from ivr.audio.manifest import read_manifest
    from ivr.tools.simulated_call import Post, SimulatedCall, flask_post, http_post
    from ivr.tools.terminal_call import AudioOut, find_player, parse_keys, run_call

    try:
        settings = Settings.from_env()
        post: Post
        if url:
            post, voice_url = http_post, _voice_url(url, "URL")
        else:
            from ivr.web.app import create_app

            # A call tried from the terminal is not the line's usage: it is not counted. It is
            # signed with the auth token, if any, never with a shared key.
            app = create_app(
                replace(settings, log_level="ERROR", usage_db=None, redis_url=None, webhook_keys=())
            )
            post, voice_url = flask_post(app), "http://localhost/voice"
        manifest = read_manifest(settings.audio_dir).recordings
    except (ConfigError, SettingsError) as error:
        _fail(error)
    audio_out = None
    if play_audio:
        audio_out = AudioOut(settings.audio_dir)
        if find_player() is None:
            click.echo("(no audio player found: aplay, paplay, afplay or ffplay; text only)")
    simulated = SimulatedCall(
        post,
        voice_url,
        auth_token=settings.auth_token,
        recordings={entry["file"]: entry for entry in manifest.values()},
    )
    click.echo(f"Calling {voice_url}")
    try:
        finished = run_call(
            simulated,
            parse_keys(keys) if keys is not None else None,
            click.echo,
            input,
            audio_out,
            clock=timeline,
        )
    except OSError as error:
        _fail(_unreachable(voice_url, error))
    if finished.events("error"):
        if hint := _refusal_hint(finished.status):
            click.echo(f"ivr: {hint}", err=True)
        sys.exit(1)


def _voice_url(url: str, name: str) -> str:
    """The line's /voice at `url`, which may name it or only the line's address."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _fail(
            f"{name} {url!r} is not a web address: give one like https://line.example.org, "
            "or http://127.0.0.1:5000 for the line on this computer"
        )
    base = url.strip().rstrip("/")
    return base if base.endswith("/voice") else f"{base}/voice"


def _unreachable(url: str, error: OSError) -> str:
    reason = getattr(error, "reason", error)  # urllib wraps the socket's error
    said = getattr(reason, "strerror", None) or str(reason)
    return (
        f"cannot reach {url}: {said}. Is the line running there? On this computer, start it "
        "with `make run`"
    )


def _refusal_hint(status: int) -> str | None:
    """What a webhook's HTTP status says about the line's settings or its address."""
    if status == 403:
        return (
            "the line refused the signature: TWILIO_AUTH_TOKEN here "
            + ("is not the line's" if os.environ.get("TWILIO_AUTH_TOKEN") else "is not set")
            + ", or the "
            "line does not know its public address (set PUBLIC_BASE_URL, or PROXY_HOPS behind "
            "a proxy)"
        )
    if status in (404, 405):
        return "nothing answers /voice there: is it the line's address?"
    if status >= 500:
        return "the line failed to answer: read its log"
    return None


@main.command()
@click.option("--svg", "svg_path", default="docs/call-flow.svg", show_default=True)
@click.option("--mermaid", "mermaid_path", default="docs/call-flow.mmd", show_default=True)
def graph(svg_path: str, mermaid_path: str) -> None:
    """Draw the call flow from the YAML, as SVG and as Mermaid text."""
    from pathlib import Path

    from ivr.menu.load import load_line
    from ivr.tools.graph import flowchart, to_mermaid, to_svg

    try:
        chart = flowchart(load_line(Settings.from_env().prompts_dir))
    except (ConfigError, SettingsError) as error:
        _fail(error)
    for path, text in ((svg_path, to_svg(chart)), (mermaid_path, to_mermaid(chart))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")


@main.command()
@click.option("--month", help="One month, YYYY-MM, instead of the last 30 days.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV, for spreadsheets.")
@click.option("--svg", "svg_path", help="Also draw calls a day and transfer outcomes to FILE.")
def usage(month: str | None, as_csv: bool, svg_path: str | None) -> None:
    """The line's daily usage counters: full UTC days only, never today.

    By default the last 30 days. Every count under USAGE_MIN_COUNT (10) is shown as "fewer
    than 10": a small count on a known day can point at one person.
    """
    import re
    from datetime import UTC, datetime
    from pathlib import Path

    from ivr.menu.load import load_line
    from ivr.tools import usage_report as report
    from ivr.web.usage_store import open_store

    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        _fail(ValueError(f"--month should be YYYY-MM, not {month!r}"))
    try:
        settings = Settings.from_env()
        line = load_line(settings.prompts_dir)
    except (ConfigError, SettingsError) as error:
        _fail(error)
    when = report.period(datetime.now(UTC).date(), month)
    if when is None:
        _fail(ValueError(f"no day of {month} has ended yet"))
    assert when is not None
    store = open_store(settings.usage_db, settings.redis_url)
    if store is None:
        _fail(RuntimeError("set USAGE_DB or REDIS_URL"))
    assert store is not None
    try:
        stored = store.read(when.first, when.last)
    except FileNotFoundError as error:
        _fail(RuntimeError(f"{error} (USAGE_DB)"))
    except Exception as error:
        _fail(RuntimeError(f"the usage counters could not be read: {type(error).__name__}"))
    built = report.build(line, stored, when, settings.usage_min_count)
    click.echo(report.as_csv(built) if as_csv else report.text(built, line), nl=False)
    if svg_path:
        Path(svg_path).parent.mkdir(parents=True, exist_ok=True)
        Path(svg_path).write_text(report.svg(built), encoding="utf-8")
        click.echo(f"wrote {svg_path}", err=True)


@main.command("twiml-bin")
def twiml_bin() -> None:
    """Print the last-resort TwiML to paste into a Twilio TwiML Bin."""
    from ivr.web.fallback import last_resort_twiml

    click.echo(last_resort_twiml())


@main.command("delete-call-logs")
@click.option(
    "--older-than",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Minutes since the call ended; newer calls are left to the line itself.",
)
@click.option(
    "--number",
    "numbers",
    multiple=True,
    help="A number of the line, as +E.164 (repeatable). Default: every number of the account.",
)
def delete_call_logs(older_than: int, numbers: tuple[str, ...]) -> None:
    """Delete the logs of finished calls to the line from Twilio, transfer legs included.

    For DELETE_CALL_LOGS=on: run it from a scheduler (Heroku Scheduler, cron), so a restart or a
    lost status callback never leaves a call's log behind for good. Needs TWILIO_ACCOUNT_SID and
    TWILIO_AUTH_TOKEN.
    """
    from datetime import timedelta

    from ivr.web.call_records import line_numbers, sweep, twilio_client

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        _fail(error)
    if not (settings.account_sid and settings.auth_token):
        _fail(RuntimeError("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"))
    assert settings.account_sid and settings.auth_token
    client = twilio_client(settings.account_sid, settings.auth_token)
    with _twilio_api():
        swept = sweep(client, numbers or line_numbers(client), timedelta(minutes=older_than))
    click.echo(
        f"ivr delete-call-logs: {swept.calls} finished call(s), {swept.records} record(s) "
        f"deleted, {swept.failed} failed"
    )
    sys.exit(1 if swept.failed else 0)


@contextmanager
def _twilio_api() -> Iterator[None]:
    """Twilio's REST API refusing, or out of reach, in words."""
    from twilio.base.exceptions import TwilioException

    try:
        yield
    except TwilioException as error:
        # A refused request carries its status; a refused page of a list, the response.
        status = getattr(error, "status", None) or next(
            (arg.status_code for arg in error.args if hasattr(arg, "status_code")), None
        )
        what = {
            401: ": check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            429: ": Twilio is limiting requests; try again in a minute",
        }.get(status or 0, "")
        _fail(f"Twilio's API refused: HTTP {status or '?'}{what}")
    except OSError as error:  # requests' errors too: no network, a name not found, a timeout
        _fail(f"cannot reach Twilio's API ({type(error).__name__}): check the network")


@main.command()
@click.argument("number")
@click.option(
    "--url",
    "base_url",
    required=True,
    help="The line's public address, like https://line.example.org.",
)
@click.option(
    "--fallback-url",
    help="The Fallback URL, if not the line's own /fallback: the separate fallback app's "
    "https://HOST/fallback, or a TwiML Bin's URL.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be set; touch nothing.")
def connect(number: str, base_url: str, fallback_url: str | None, dry_run: bool) -> None:
    """Point the Twilio number NUMBER (+E.164) at the line at --url, then call it once.

    Sets the number's Voice URL (/voice), Fallback URL (/fallback) and, with
    DELETE_CALL_LOGS=on, its status callback (/status), all with HTTP POST, through Twilio's
    REST API (needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN). Then places one signed test call
    to the Voice URL, as `ivr call URL` does, and says what the line answered.
    """
    from ivr.tools.connect import NumberProblem, apply, wanted
    from ivr.web.settings import E164

    if not E164.match(number):
        _fail(f"NUMBER should be the Twilio number as +E.164, like +18005550100, not {number!r}")
    voice_url = _voice_url(base_url, "--url")
    base = voice_url.removesuffix("/voice")
    if fallback_url is not None:
        _voice_url(fallback_url, "--fallback-url")  # only to check it is a web address
        fallback_url = fallback_url.strip()
    for url in (base, fallback_url):
        if url and url.startswith("http://"):
            click.echo(
                f"warning: {url} is not https: Twilio would send each caller's number unencrypted",
                err=True,
            )
    settings = Settings.from_env()
    to_set = wanted(base, fallback_url, settings.delete_call_logs)
    if dry_run:
        click.echo(f"ivr connect --dry-run: would set, on {number}, every one with HTTP POST:")
        click.echo(f"  Voice URL (a call comes in)            {to_set['voice_url']}")
        click.echo(f"  Fallback URL (primary handler fails)   {to_set['voice_fallback_url']}")
        status = to_set.get("status_callback")
        click.echo(
            f"  Status callback (call status changes)  {status}"
            if status
            else f"  Status callback (call status changes)  left as it is: DELETE_CALL_LOGS is "
            f"off (with it on: {base}/status)"
        )
        click.echo(f"then place one signed test call to {voice_url}. Nothing was changed.")
        return
    if not (settings.account_sid and settings.auth_token):
        _fail("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (in .env or the shell)")
    from ivr.web.call_records import twilio_client

    client = twilio_client(settings.account_sid, settings.auth_token)
    try:
        with _twilio_api():
            sid, changes = apply(client, number, to_set)
    except NumberProblem as problem:
        _fail(str(problem))
    click.echo(f"{number} ({sid}):")
    for change in changes:
        click.echo(change.render())
    sys.exit(0 if _test_call(settings, voice_url) else 1)


def _test_call(settings: Settings, voice_url: str) -> bool:
    """One signed call to the line's Voice URL, as Twilio would place it; True if answered."""
    from ivr.audio.manifest import read_manifest
    from ivr.tools.simulated_call import SimulatedCall, http_post

    entries = read_manifest(settings.audio_dir).recordings.values()
    call = SimulatedCall(
        http_post,
        voice_url,
        auth_token=settings.auth_token,
        recordings={entry["file"]: entry for entry in entries},
    )
    try:
        call.start()
    except OSError as error:
        click.echo(f"Test call: {_unreachable(voice_url, error)}", err=True)
        return False
    if errors := call.events("error"):
        click.echo(f"Test call to {voice_url}: {errors[0].text}", err=True)
        if hint := _refusal_hint(call.status):
            click.echo(f"ivr: {hint}", err=True)
        return False
    heard = call.heard()
    click.echo(f"Test call to {voice_url}: answered. The caller hears: {heard[:160]}")
    return True


@main.command()
@click.option(
    "--port",
    default=5001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Only this computer can reach the default; any other address "
    "lets others on the network change the recordings.",
)
def studio(port: int, host: str) -> None:
    """Record the prompts in your own voice, in the browser, at http://127.0.0.1:5001/studio.

    Needs the audio tools: .venv/bin/pip install -e '.[audio]'.
    """
    try:
        from ivr.tools.studio.app import create_studio_app
    except ModuleNotFoundError as error:
        _fail(
            RuntimeError(
                f"{error.name} is missing; the studio needs the audio tools: {install_audio()}"
            )
        )
    from ivr.menu.load import load_line

    try:
        settings = Settings.from_env()
        load_line(settings.prompts_dir)  # a broken menu is reported here, not on the page
    except (ConfigError, SettingsError) as error:
        _fail(error)
    if not _is_loopback(host):
        click.echo(
            f"warning: the studio listens on {host}, not only on this computer: anyone who can "
            f"reach {host}:{port} can replace the line's recordings. Browsers also allow the "
            "microphone only at 127.0.0.1 or over https.",
            err=True,
        )
    _check_can_listen(host, port, "--port")
    app = create_studio_app(settings.prompts_dir, settings.audio_dir, host)
    server = _listening(app, host, port)
    click.echo(f"The studio is at {_address(host, port)}/studio (Ctrl+C to stop).")
    server.serve_forever()  # returns on Ctrl+C
    click.echo("The studio has stopped.")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.group()
def audio() -> None:
    """Recordings: build telephone-ready audio for every prompt."""


@audio.command("build")
@click.option("--force", is_flag=True, help="Rebuild every recording, changed or not.")
@click.option(
    "--let-go",
    "let_go",
    multiple=True,
    metavar="LANG/PROMPT",
    help="A person's recording whose file and source are both gone: let it go, so that the line "
    "speaks that prompt another way (a placeholder, or Twilio's voice).",
)
def audio_build(force: bool, let_go: tuple[str, ...]) -> None:
    """Build audio/ from human recordings in audio/sources/, or synthesized placeholders."""
    try:
        from ivr.audio.build.builder import build_all
    except ImportError as error:
        _fail(RuntimeError(f"{error.name} is missing; install the audio tools: {install_audio()}"))
    settings = Settings.from_env()
    try:
        build_all(settings.prompts_dir, settings.audio_dir, force=force, let_go=frozenset(let_go))
    except ConfigError as error:
        _fail(error)
