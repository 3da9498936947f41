"""Webhooks signed through a token rotation and with Twilio's webhook shared keys, against the
server the Procfile starts and the fallback app alike."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256

from ivr.tools.simulated_call import HttpReply, http_post
from ivr.web.app import create_app
from ivr.web.settings import Settings, SettingsError
from tests.helpers import CALLER, ROOT, sign

OLD, NEW = "old-auth-token", "new-auth-token"
KEY_ID, KEY_SECRET = "webhooks_sharedkey_1a2b3c", "shared-key-secret"
OTHER_ID, OTHER_SECRET = "webhooks_sharedkey_4d5e6f", "another-shared-secret"
UNKNOWN_ID = "webhooks_sharedkey_NOT_CONFIGURED_9z"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
FALLBACK_APP = "ivr.web.fallback:create_fallback_app()"


def post(
    url: str, secret: str, algorithm: str = HMAC_SHA1, settings: str | None = None
) -> HttpReply:
    """A webhook signed with `secret`, with the settings header Twilio would add, if any."""
    params = {**CALLER, "CallStatus": "in-progress"}
    headers = {"X-Twilio-Signature": sign(url, params, secret, algorithm)}
    if settings is not None:
        headers[SETTINGS_HEADER] = settings
    return http_post(url, params, headers)


def in_process_status(env: dict[str, str], secret: str) -> int:
    """The status the line built from `env` gives a /voice signed with `secret`."""
    settings = Settings.from_env(
        {"PROMPTS_DIR": str(ROOT / "prompts"), "AUDIO_DIR": str(ROOT / "audio"), **env}
    )
    # Not counted: a usage file in the project's folder is no test's to write.
    client = create_app(replace(settings, usage_db=None)).test_client()
    params = {**CALLER, "CallStatus": "in-progress"}
    headers = {"X-Twilio-Signature": sign("http://localhost/voice", params, secret)}
    return client.post("/voice", data=params, headers=headers).status_code


def test_a_rotation_done_in_the_documented_order_fails_no_webhook():
    """docs/operators.md: set the secondary as TWILIO_AUTH_TOKEN and the old one as
    TWILIO_AUTH_TOKEN_PREVIOUS; then promote in Twilio; then remove the previous one."""
    steps = [
        # (the line's environment, the token Twilio signs with at that step)
        ({"TWILIO_AUTH_TOKEN": OLD}, OLD),  # before
        ({"TWILIO_AUTH_TOKEN": NEW, "TWILIO_AUTH_TOKEN_PREVIOUS": OLD}, OLD),  # secondary set
        ({"TWILIO_AUTH_TOKEN": NEW, "TWILIO_AUTH_TOKEN_PREVIOUS": OLD}, NEW),  # promoted
        ({"TWILIO_AUTH_TOKEN": NEW}, NEW),  # previous removed
    ]
    assert [in_process_status(env, signer) for env, signer in steps] == [200] * len(steps)
    # The token removed at the end no longer passes, and only the named tokens ever did.
    assert in_process_status({"TWILIO_AUTH_TOKEN": NEW}, OLD) == 403
    both = {"TWILIO_AUTH_TOKEN": NEW, "TWILIO_AUTH_TOKEN_PREVIOUS": OLD}
    assert in_process_status(both, "neither-token") == 403


@pytest.mark.parametrize("app", ["ivr.wsgi:app", FALLBACK_APP])
def test_the_line_and_the_fallback_app_take_both_tokens_while_rotating(run_server, app):
    path = "/voice" if app == "ivr.wsgi:app" else "/fallback"
    env = {"TWILIO_AUTH_TOKEN": NEW, "TWILIO_AUTH_TOKEN_PREVIOUS": OLD}
    with run_server(env, app=app) as server:
        url = f"{server.url}{path}"
        assert [post(url, token).status for token in (NEW, OLD, "other")] == [200, 200, 403]


@pytest.mark.parametrize("app", ["ivr.wsgi:app", FALLBACK_APP])
def test_a_webhook_signed_with_a_shared_key_is_checked_with_that_key(run_server, app):
    path = "/voice" if app == "ivr.wsgi:app" else "/fallback"
    env = {
        "TWILIO_AUTH_TOKEN": NEW,
        "TWILIO_WEBHOOK_KEYS": f"{KEY_ID}={KEY_SECRET}, {OTHER_ID}={OTHER_SECRET}",
    }
    with run_server(env, app=app) as server:
        url = f"{server.url}{path}"
        named = f"key={KEY_ID},algorithm=HMAC_SHA256"
        answered = [
            post(url, KEY_SECRET, HMAC_SHA256, named),
            post(url, OTHER_SECRET, HMAC_SHA256, f"key={OTHER_ID},algorithm=HMAC_SHA256"),
            post(url, KEY_SECRET, HMAC_SHA1, f"key={KEY_ID},algorithm=HMAC_SHA1"),
            post(url, KEY_SECRET, HMAC_SHA1, f"key={KEY_ID}"),  # no algorithm: SHA-1
            post(url, NEW),  # no settings header: the auth token, as before
        ]
        assert [reply.status for reply in answered] == [200] * len(answered)
        refused = [
            post(url, NEW, HMAC_SHA256, named),  # the key named, the token used
            post(url, OTHER_SECRET, HMAC_SHA256, named),  # another key's secret
            post(url, KEY_SECRET, HMAC_SHA1, named),  # the algorithm named is not the one used
            post(url, KEY_SECRET),  # a key's secret, but no key named: the token is expected
            post(url, NEW, HMAC_SHA256, f"key={UNKNOWN_ID},algorithm=HMAC_SHA256"),
            post(url, KEY_SECRET, HMAC_SHA256, f"key={UNKNOWN_ID},algorithm=HMAC_SHA256"),
        ]
        assert [reply.status for reply in refused] == [403] * len(refused)
    log = server.log()  # stopped: each worker has written its summary of refusals
    # Counted in the refusals' summary, each worker's at its stop: a flood of made-up ids
    # cannot use up a warning told once.
    unknown = re.findall(r"(\d+) signed with a webhook shared key this line does not have", log)
    assert sum(map(int, unknown)) == 2, log
    assert "add its id and secret to TWILIO_WEBHOOK_KEYS" in log
    for never_logged in (UNKNOWN_ID, KEY_ID, KEY_SECRET, OTHER_SECRET, NEW):
        assert never_logged not in log


def test_shared_keys_alone_check_every_webhook_and_keep_the_browser_phone_off(tmp_path):
    env = {"TWILIO_WEBHOOK_KEYS": f"{KEY_ID}={KEY_SECRET}"}
    settings = Settings.from_env(
        {"PROMPTS_DIR": str(ROOT / "prompts"), "AUDIO_DIR": str(ROOT / "audio"), **env}
    )
    client = create_app(replace(settings, usage_db=None)).test_client()
    params = {**CALLER, "CallStatus": "in-progress"}
    url = "http://localhost/voice"
    header = {SETTINGS_HEADER: f"key={KEY_ID},algorithm=HMAC_SHA256"}
    signed = {"X-Twilio-Signature": sign(url, params, KEY_SECRET, HMAC_SHA256), **header}
    assert client.post("/voice", data=params, headers=signed).status_code == 200
    assert client.post("/voice", data=params).status_code == 403
    assert client.get("/phone").status_code == 404


@pytest.mark.parametrize(
    "env,says",
    [
        ({"TWILIO_WEBHOOK_KEYS": "no-equals-sign"}, "item 1 of 1 should be id=secret"),
        ({"TWILIO_WEBHOOK_KEYS": f"{KEY_ID}={KEY_SECRET},=s2"}, "item 2 of 2 should be id="),
        ({"TWILIO_WEBHOOK_KEYS": f"{KEY_ID}={KEY_SECRET},{KEY_ID}=x"}, "repeats an earlier"),
        ({"TWILIO_AUTH_TOKEN_PREVIOUS": OLD}, "without TWILIO_AUTH_TOKEN"),
        (
            {"TWILIO_WEBHOOK_KEYS": f"{KEY_ID}={KEY_SECRET}", "PHONE_PAGE": "on"},
            "needs TWILIO_AUTH_TOKEN",
        ),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL should be DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_a_mistake_in_the_secrets_is_refused_without_quoting_them(env, says):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"PROMPTS_DIR": str(ROOT / "prompts"), **env})
    assert says in str(refused.value)
    assert KEY_SECRET not in str(refused.value) and OLD not in str(refused.value)
