"""Our signature check: Twilio's documented vector, tampering, and a TLS proxy in front."""

from __future__ import annotations

import pytest
from flask import Flask, request
from twilio.request_validator import HMAC_SHA256, RequestValidator
from werkzeug.datastructures import MultiDict

from ivr.tools.simulated_call import http_post
from ivr.web.body_limit import FORM_KEY, form_of, limit_body
from ivr.web.signature import SignatureCheck
from tests.helpers import failed_start, sign

# Twilio's documented example of a signed request.
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://example.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "L/OH5YylLD5NRKLltdqwSvS0BnU="


def test_the_app_answers_a_signed_webhook_and_refuses_it_changed(client):
    path = "/key?n=main&p=0&m=0"
    params = {"CallSid": "CA" + "2" * 32, "From": "+14155550123", "Digits": "1"}
    signed = {"X-Twilio-Signature": sign(f"http://localhost{path}", params)}
    answered = client.post(path, data=params, headers=signed)
    assert answered.status_code == 200 and b"<Gather" in answered.data
    refused = [
        client.post(path, data={**params, "Digits": "0"}, headers=signed),
        client.post(path.replace("n=main", "n=police"), data=params, headers=signed),
        client.post(path, data={**params, "Extra": "x"}, headers=signed),
        client.post(path, data=params),
        client.post(
            path,
            data=params,
            headers={"X-Twilio-Signature": sign(f"http://localhost{path}", params, "other")},
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all(b"<Say" not in r.data for r in refused)


def _check_in_flask(check: SignatureCheck, url: str, params: dict[str, str], signature: str):
    app = Flask(__name__)
    scheme_host, _, path = url.partition("://")[2].partition("/")
    scheme = url.partition("://")[0]
    with app.test_request_context(
        "/" + path,
        method="POST",
        base_url=f"{scheme}://{scheme_host}",
        data=params,
        headers={"X-Twilio-Signature": signature},
    ):
        return check.is_valid(request)


def test_the_documented_vector_passes_through_the_apps_check():
    check = SignatureCheck(VECTOR_TOKEN)
    assert _check_in_flask(check, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    "field,value", [("Digits", "1235"), ("From", "+14158675311"), ("CallSid", "CA0")]
)
def test_a_tampered_parameter_fails(field, value):
    tampered = {**VECTOR_PARAMS, field: value}
    check = SignatureCheck(VECTOR_TOKEN)
    assert not _check_in_flask(check, VECTOR_URL, tampered, VECTOR_SIGNATURE)


def test_a_tampered_url_fails():
    check = SignatureCheck(VECTOR_TOKEN)
    moved = VECTOR_URL.replace("foo=1", "foo=2")
    assert not _check_in_flask(check, moved, VECTOR_PARAMS, VECTOR_SIGNATURE)


def test_the_sha256_signature_setting_is_honoured():
    signature = sign(VECTOR_URL, VECTOR_PARAMS, VECTOR_TOKEN, HMAC_SHA256)
    app = Flask(__name__)
    with app.test_request_context(
        "/myapp.php?foo=1&bar=2",
        method="POST",
        base_url="https://example.com",
        data=VECTOR_PARAMS,
        headers={
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256",
        },
    ):
        assert SignatureCheck(VECTOR_TOKEN).is_valid(request)


@pytest.mark.parametrize(
    "signed_for,called",
    [
        # Twilio signs the URL as the number's settings give it: with or without a port.
        ("https://example.com:443/voice?n=main", "https://example.com/voice?n=main"),
        ("https://example.com/voice?n=main", "https://example.com:443/voice?n=main"),
        ("http://example.com:5000/voice", "http://example.com:5000/voice"),
    ],
)
def test_a_url_signed_with_or_without_its_port_passes_as_twilios_own_validator_decides(
    signed_for, called
):
    params = {**VECTOR_PARAMS, "SpeechResult": "ñame, señal"}
    signature = sign(signed_for, params, VECTOR_TOKEN)
    assert RequestValidator(VECTOR_TOKEN).validate(called, params, signature)
    assert _check_in_flask(SignatureCheck(VECTOR_TOKEN), called, params, signature)
    wrong = sign(signed_for.replace("example.com", "example.net"), params, VECTOR_TOKEN)
    assert not _check_in_flask(SignatureCheck(VECTOR_TOKEN), called, params, wrong)


def test_a_field_sent_twice_is_signed_over_both_values():
    """A repeated field counts each value, sorted, as Twilio's own validator reads a form."""
    app = Flask(__name__)
    body = "Digits=2&CallSid=CA1&Digits=1"
    url = "https://example.com/key"
    validator = RequestValidator(VECTOR_TOKEN)
    both = validator.compute_signature(
        url, MultiDict([("Digits", "2"), ("CallSid", "CA1"), ("Digits", "1")])
    )
    one = validator.compute_signature(url, {"Digits": "2", "CallSid": "CA1"})
    for signature, valid in ((both, True), (one, False)):
        with app.test_request_context(
            "/key",
            method="POST",
            base_url="https://example.com",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        ):
            assert SignatureCheck(VECTOR_TOKEN).is_valid(request) is valid


PUBLIC = "https://line.example.org"
PARAMS = {"CallSid": "CA1", "From": "+14155550123", "To": "+18005550100"}


def _signed_for_public_url() -> dict[str, str]:
    return {"X-Twilio-Signature": sign(f"{PUBLIC}/voice", PARAMS)}


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "line.example.org"}


def test_behind_a_proxy_with_proxy_hops(run_server):
    """The app sees http and 127.0.0.1; Twilio signed https and the public host."""
    with run_server({"PROXY_HOPS": "1"}) as server:
        headers = _signed_for_public_url()
        assert http_post(f"{server.url}/voice", PARAMS, {**headers, **FORWARDED}).status == 200
        assert http_post(f"{server.url}/voice", PARAMS, headers).status == 403
        wrong_host = {**FORWARDED, "X-Forwarded-Host": "evil.example.org"}
        assert http_post(f"{server.url}/voice", PARAMS, {**headers, **wrong_host}).status == 403


def test_behind_a_proxy_with_a_public_base_url(run_server):
    with run_server({"PUBLIC_BASE_URL": PUBLIC}) as server:
        headers = _signed_for_public_url()
        assert http_post(f"{server.url}/voice", PARAMS, headers).status == 200
        signed_for_internal = {"X-Twilio-Signature": sign(f"{server.url}/voice", PARAMS)}
        assert http_post(f"{server.url}/voice", PARAMS, signed_for_internal).status == 403


def test_without_a_token_the_line_serves_and_warns_loudly_once(run_server):
    with run_server({"TWILIO_AUTH_TOKEN": ""}) as server:
        assert http_post(f"{server.url}/voice", PARAMS, {}).status == 200
        log = server.log()
    assert log.count("TWILIO_AUTH_TOKEN is not set") == 1
    assert "WARNING" in log


@pytest.mark.parametrize(
    "url",
    ["https://line.example.org:99999", "https://line.example.org:0", "https://:443", "ftp://x.org"],
)
def test_a_public_address_the_check_cannot_read_stops_the_line_at_start(tmp_path, url):
    """Not every call's apology: the operator is told at start, by the setting's name."""
    code, log = failed_start(tmp_path / "log", {"PUBLIC_BASE_URL": url})
    assert code != 0
    assert "PUBLIC_BASE_URL should look like https://host.example.org" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    "body",
    [
        b"CallSid=CA1&From=%2B14155550123&Digits=1",
        b"SpeechResult=hola+polic%C3%ADa&SpeechResult=again&Empty=&NoValue",
        b"a=%E2%82%AC%20x&b=%ZZ&c=1%2",  # bad escapes kept as werkzeug keeps them
        b"&&a=1&&",
    ],
)
def test_the_form_parsed_in_front_of_the_app_is_werkzeugs(body):
    """Parsed once where the body is read, the form must be the one werkzeug would give, or
    a signature computed over it could differ from Twilio's."""
    app = Flask(__name__)

    @app.post("/f")
    def both() -> dict[str, object]:
        ours = list(form_of(request).lists())
        request.environ.pop(FORM_KEY)  # werkzeug's own parse, of the same body
        return {"ours": ours, "werkzeug": list(request.form.lists())}

    app.wsgi_app = limit_body(app.wsgi_app, 64 * 1024)  # type: ignore[method-assign]
    reply = (
        app.test_client()
        .post("/f", data=body, content_type="application/x-www-form-urlencoded")
        .get_json()
    )
    assert reply["ours"] == reply["werkzeug"] and reply["ours"]
