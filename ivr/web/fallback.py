"""What a caller hears when the line itself fails: an apology and the hotline.

Built from constants alone, so it works even when the menu could not be loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.web.webhook import MAX_BODY, WEBHOOK_HEADERS, Gate, caller_id_for, params

log = logging.getLogger("ivr")
HOTLINE = "+18663319474"
# Numbers in words, digit by digit and twice, as the menu's spoken forms say them.
_HOTLINE_EN = "one. eight, six, six. three, three, one. nine, four, seven, four"
_HOTLINE_ES = "uno. ocho, seis, seis. tres, tres, uno. nueve, cuatro, siete, cuatro"
APOLOGY = (
    "Sorry, this line is having trouble. "
    "If you are in immediate danger, hang up and call nine one one. "
    "Connecting you to a peer advocate at love is respect."
)
AFTER = (
    f"If you could not reach an advocate, call {_HOTLINE_EN}. Again: {_HOTLINE_EN}. "
    "Or text the word love is, spelled L, O, V, E, I, S, to two two five, two two. Goodbye."
)
# The same for Spanish-speaking callers, whose language the failing line may not know.
APOLOGY_ES = (
    "Lo sentimos, esta línea tiene problemas. "
    "Si estás en peligro inmediato, cuelga y llama al nueve uno uno. "
    "Te comunicamos con una persona consejera; puedes pedir atención en español."
)
AFTER_ES = (
    f"Si no pudiste hablar con una persona consejera, llama al {_HOTLINE_ES}. "
    f"Otra vez: {_HOTLINE_ES}. O envía un mensaje de texto con la palabra love is, "
    "que se deletrea L, O, V, E, I, S, al dos dos cinco, dos dos. Adiós."
)
# Neural voices, each with a language Twilio speaks it in (ivr.menu.say_voices): every <Say>.
SPOKEN = (("Polly.Joanna-Neural", "en-US"), ("Polly.Lupe-Neural", "es-US"))


def fallback_response(form: Mapping[str, str], caller_id_setting: str) -> Response:
    """The apology and the transfer, as a webhook's answer."""
    twiml = fallback_twiml(caller_id_for(form, caller_id_setting))
    return Response(twiml, mimetype="text/xml", headers=WEBHOOK_HEADERS)


def fallback_twiml(caller_id: str | None) -> str:
    response = VoiceResponse()
    for text, (voice, language) in zip((APOLOGY, APOLOGY_ES), SPOKEN, strict=True):
        response.say(text, voice=voice, language=language)
    # No action URL: if the app is failing, the call must not depend on it again.
    dial = response.dial(timeout=30, caller_id=caller_id)
    dial.number(HOTLINE)
    for text, (voice, language) in zip((AFTER, AFTER_ES), SPOKEN, strict=True):
        response.say(text, voice=voice, language=language)
    response.hangup()
    return str(response.to_xml())


# Twilio fills {{To}} in a TwiML Bin with the number that was called.
TWIML_BIN_CALLER_ID = "{{To}}"


def last_resort_twiml() -> str:
    """The same apology and transfer, for a TwiML Bin: what callers get if the app is down."""
    return fallback_twiml(TWIML_BIN_CALLER_ID)


def create_fallback_app() -> Flask:
    """A tiny app serving only /fallback and /healthz, loading no menu at all.

    Deploy it apart from the line, so Twilio's Fallback URL works even when the line cannot.
    """
    from ivr.web.body_limit import limit_body
    from ivr.web.health import health
    from ivr.web.log_output import configure
    from ivr.web.public_url import trust_proxies
    from ivr.web.settings import Settings

    settings = Settings.from_env()
    configure(settings.log_level)
    gate = Gate(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.wsgi_app = limit_body(app.wsgi_app, MAX_BODY)  # type: ignore[method-assign,assignment]
    trust_proxies(app, settings.proxy_hops)

    @app.route("/fallback", methods=["POST", "GET"], strict_slashes=False)
    def fallback() -> Response:
        gate.admit(request, "fallback")
        return fallback_response(params(request), settings.transfer_caller_id)

    app.register_blueprint(health())
    return app
