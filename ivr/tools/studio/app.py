"""The studio's own small Flask app, served by `ivr studio` on this computer only.

It is no part of the line: the production app (ivr.wsgi) has no studio route.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path

from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
)
from werkzeug.exceptions import HTTPException

from ivr.audio import manifest as manifest_file
from ivr.audio.build.builder import SOURCES
from ivr.errors import ConfigError, shown
from ivr.tools.studio.catalog import PromptState, catalog, find_prompt
from ivr.tools.studio.keep import keep_take, undo_keep
from ivr.tools.studio.takes import MAX_BYTES, TakeError, judge, take_from_upload

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cache-Control": "no-store",
}


def create_studio_app(prompts_dir: Path, audio_dir: Path, host: str = "127.0.0.1") -> Flask:
    """The studio for the line in `prompts_dir` and its recordings in `audio_dir`.

    `host` is the address it listens on; requests naming any other host are refused, so a web
    page elsewhere cannot reach it through a name that points here (DNS rebinding).
    """
    app = Flask(__name__, static_url_path="/studio/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BYTES
    hosts = LOOPBACK_NAMES | {host, f"[{host}]"}
    every_address = host in ("0.0.0.0", "::")  # then any name may reach it, as was warned
    keeping = threading.Lock()  # one keep at a time: each rebuilds the manifest

    @app.before_request
    def only_this_studio() -> None:
        named = request.host.rsplit(":", 1)[0]
        if not every_address and named not in hosts and request.host not in hosts:
            abort(403)
        if request.method == "POST":
            # Only the page itself may send takes: not a form or a script on another site.
            origin = request.headers.get("Origin")
            if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
                abort(403)
            # Types no form can send: another site's script would need the studio's leave.
            wanted = "application/json" if request.path.startswith("/studio/undo/") else "audio/"
            if not (request.mimetype or "").startswith(wanted):
                abort(415)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(PAGE_HEADERS)
        return response

    @app.errorhandler(ConfigError)
    def config_error(error: ConfigError) -> tuple[Response, int]:
        return jsonify(error=str(error)), 500

    @app.errorhandler(TakeError)
    def take_error(error: TakeError) -> tuple[Response, int]:
        return jsonify(error=f"This take cannot be used: {error}"), 422

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify(error=error.description), error.code or 500

    @app.get("/")
    def home() -> Response:
        return redirect("/studio")  # type: ignore[return-value]

    @app.get("/studio")
    def page() -> str:
        return render_template(
            "studio.html",
            sources=shown(audio_dir / SOURCES),
            audio=shown(audio_dir),
            manifest=shown(audio_dir / manifest_file.NAME),
        )

    @app.get("/studio/prompts")
    def prompts() -> Response:
        groups = catalog(prompts_dir, audio_dir)
        return jsonify(
            groups=[
                {
                    "language": group.language,
                    "title": group.title,
                    "prompts": [p.to_json() for p in group.prompts],
                }
                for group in groups
            ]
        )

    def prompt_for_take(language: str, prompt_id: str) -> PromptState:
        prompt = find_prompt(prompts_dir, audio_dir, f"{language}/{prompt_id}")
        if prompt is None:
            abort(404, f"There is no prompt {prompt_id!r} in {language}.")
        if request.args.get("fingerprint") != prompt.fingerprint:
            abort(
                409,
                f"The words of {prompt.key} changed since this page showed them. Reload the "
                "page and record the words as they are now (this take is still here).",
            )
        return prompt

    @app.post("/studio/takes/<language>/<prompt_id>")
    def check_take(language: str, prompt_id: str) -> Response:
        prompt = prompt_for_take(language, prompt_id)
        take = take_from_upload(request.mimetype, request.get_data())
        verdict = judge(take, prompt.text, prompt.placeholder_duration, prompt.id)
        telephone = base64.b64encode(verdict.telephone).decode() if verdict.telephone else None
        return jsonify({**verdict.to_json(), "telephone": telephone})

    @app.post("/studio/keep/<language>/<prompt_id>")
    def keep(language: str, prompt_id: str) -> Response | tuple[Response, int]:
        with keeping:
            prompt = prompt_for_take(language, prompt_id)
            take = take_from_upload(request.mimetype, request.get_data())
            verdict = judge(take, prompt.text, prompt.placeholder_duration, prompt.id)
            if not verdict.usable:
                raise TakeError(" ".join(verdict.warnings))
            if verdict.warnings and request.args.get("flagged") != "keep":
                # A flagged take is kept only when staff have said so a second time.
                return jsonify(
                    error="This take was flagged: " + " ".join(verdict.warnings),
                    flagged=True,
                ), 409
            kept = keep_take(prompts_dir, audio_dir, language, prompt_id, take)
            now = find_prompt(prompts_dir, audio_dir, prompt.key)
        assert now is not None
        return jsonify(
            prompt=now.to_json(),
            kept=shown(kept),
            built=shown(audio_dir / f"{prompt.key}.wav"),
        )

    @app.post("/studio/undo/<language>/<prompt_id>")
    def undo(language: str, prompt_id: str) -> Response:
        with keeping:
            prompt = find_prompt(prompts_dir, audio_dir, f"{language}/{prompt_id}")
            if prompt is None:
                abort(404, f"There is no prompt {prompt_id!r} in {language}.")
            if not prompt.undo:
                abort(409, f"There is no keep of {prompt.key} to undo.")
            restored = undo_keep(prompts_dir, audio_dir, language, prompt_id)
            now = find_prompt(prompts_dir, audio_dir, prompt.key)
        assert now is not None
        folder = audio_dir / SOURCES / language
        return jsonify(
            prompt=now.to_json(),
            restored=shown(folder / restored) if restored else None,
            built=shown(audio_dir / f"{prompt.key}.wav"),
        )

    @app.get("/studio/recording/<language>/<prompt_id>")
    def recording(language: str, prompt_id: str) -> Response:
        """The recording the line plays for the prompt, byte for byte."""
        prompt = find_prompt(prompts_dir, audio_dir, f"{language}/{prompt_id}")
        if prompt is None or not prompt.playable:
            abort(404, f"The line has no recording of {language}/{prompt_id} to play.")
        return send_file(audio_dir / f"{prompt.key}.wav", mimetype="audio/wav", max_age=0)

    return app
