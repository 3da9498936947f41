"""The `ivr` command: run the line locally, and the staff's tools."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import replace

import click

from ivr.errors import ConfigError
from ivr.web.settings import Settings, SettingsError


def _fail(error: Exception) -> None:
    click.echo(f"ivr: {error}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """A Twilio phone line that reads the guide "Calling the Police"."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=lambda: int(os.environ.get("PORT", "5000")), show_default="$PORT or 5000"
)
def serve(host: str, port: int) -> None:
    """Run the line locally with Flask's development server."""
    from ivr.web.app import create_app

    try:
        app = create_app(Settings.from_env())
    except (ConfigError, SettingsError) as error:
        _fail(error)
    click.echo(f"The line answers at http://{host}:{port}/voice (POST, as Twilio calls it).")
    # The development server logs each request's URL, which holds where the call is.
    logging.getLogger("werkzeug").setLevel(
        logging.INFO if logging.getLogger("ivr").isEnabledFor(logging.DEBUG) else logging.WARNING
    )
    app.run(host=host, port=port)


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

    Needs the recognizer: pip install -e '.[dev]' (or '.[audio]'). Exits 0 only without errors.
    """
    try:
        from ivr.audio.build.listen import listen_all
    except ImportError as error:
        _fail(RuntimeError(f"{error.name} is missing; install it: pip install -e '.[audio]'"))
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
            post, voice_url = (
                http_post,
                url if url.endswith("/voice") else f"{url.rstrip('/')}/voice",
            )
        else:
            from ivr.web.app import create_app

            # A call tried from the terminal is not the line's usage: it is not counted.
            app = create_app(replace(settings, log_level="ERROR", usage_db=None, redis_url=None))
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
    finished = run_call(
        simulated,
        parse_keys(keys) if keys is not None else None,
        click.echo,
        input,
        audio_out,
        clock=timeline,
    )
    if finished.events("error"):
        sys.exit(1)


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
    swept = sweep(client, numbers or line_numbers(client), timedelta(minutes=older_than))
    click.echo(
        f"ivr delete-call-logs: {swept.calls} finished call(s), {swept.records} record(s) "
        f"deleted, {swept.failed} failed"
    )
    sys.exit(1 if swept.failed else 0)


@main.command()
@click.option("--port", default=5001, show_default=True, help="Port to listen on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Only this computer can reach the default; any other address "
    "lets others on the network change the recordings.",
)
def studio(port: int, host: str) -> None:
    """Record the prompts in your own voice, in the browser, at http://127.0.0.1:5001/studio.

    Needs the audio tools: pip install -e '.[audio]'.
    """
    try:
        from ivr.tools.studio.app import create_studio_app
    except ModuleNotFoundError as error:
        _fail(
            RuntimeError(
                f"{error.name} is missing; the studio needs the audio tools: "
                "pip install -e '.[audio]'"
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
    from werkzeug.serving import make_server

    app = create_studio_app(settings.prompts_dir, settings.audio_dir, host)
    # Says itself why it cannot listen (an address in use, or not this computer's), and exits.
    server = make_server(host, port, app, threaded=True)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"The studio is at http://{shown_host}:{port}/studio (Ctrl+C to stop).")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
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
def audio_build(force: bool) -> None:
    """Build audio/ from human recordings in audio/sources/, or synthesized placeholders."""
    try:
        from ivr.audio.build.builder import build_all
    except ImportError as error:
        _fail(
            RuntimeError(
                f"{error.name} is missing; install the audio tools: pip install -e '.[audio]'"
            )
        )
    settings = Settings.from_env()
    try:
        build_all(settings.prompts_dir, settings.audio_dir, force=force)
    except ConfigError as error:
        _fail(error)
