"""A stand-in for Twilio's REST API (the IncomingPhoneNumbers resource), served by the test.

Twilio's servers cannot be reached from here, and the code under test must run unchanged: so
the stand-in answers for api.twilio.com itself, over real TLS with a certificate made for the
test, and the `ivr` command reaches it the way any HTTPS client is sent through a proxy
(HTTPS_PROXY, with REQUESTS_CA_BUNDLE trusting that certificate). twilio-python, requests and
the connection they open are the real ones.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socketserver
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

API_HOST = "api.twilio.com"
NUMBERS = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/IncomingPhoneNumbers(?:/(PN\w+))?\.json$")


def phone_number(sid: str, number: str, **fields: str | None) -> dict[str, Any]:
    """One IncomingPhoneNumber as Twilio's API returns it (the fields `ivr connect` reads)."""
    return {
        "sid": sid,
        "phone_number": number,
        "friendly_name": number,
        "voice_url": None,
        "voice_method": "POST",
        "voice_fallback_url": None,
        "voice_fallback_method": "POST",
        "status_callback": None,
        "status_callback_method": "POST",
        "voice_application_sid": None,
        "trunk_sid": None,
        **fields,
    }


class TwilioStandIn:
    """The account `account_sid`, with `token`, owning `numbers`; what it was asked is kept."""

    def __init__(
        self, folder: Path, account_sid: str, token: str, numbers: list[dict[str, Any]]
    ) -> None:
        self.account_sid, self.token = account_sid, token
        self.numbers = {number["sid"]: number for number in numbers}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, form
        self.certificate = _certificate(folder)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(self.certificate, folder / "standin-key.pem")
        standin = self

        class Proxy(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                standin.tunnel(self)

        self.proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
        self.proxy.daemon_threads = True
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        """The environment that sends a client's HTTPS requests to the stand-in."""
        proxy = f"http://127.0.0.1:{self.proxy.server_address[1]}"
        direct = "127.0.0.1,localhost"  # the line itself is reached directly
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": direct,
            "no_proxy": direct,
            "REQUESTS_CA_BUNDLE": str(self.certificate),
        }

    def close(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()

    def tunnel(self, connection: socketserver.StreamRequestHandler) -> None:
        """An HTTPS proxy's CONNECT, answered here as api.twilio.com, over TLS."""
        request_line = connection.rfile.readline().decode("latin-1").split()
        while connection.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if request_line[:2] != ["CONNECT", f"{API_HOST}:443"]:
            connection.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        connection.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        connection.wfile.flush()
        with self.tls.wrap_socket(connection.connection, server_side=True) as tls:
            _Api(tls, connection.client_address, self)

    def answer(self, method: str, target: str, auth: str, body: str) -> tuple[int, Any]:
        """Twilio's answer to one request: its status and JSON."""
        parts = urllib.parse.urlsplit(target)
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        self.requests.append((method, parts.path, form))
        expected = base64.b64encode(f"{self.account_sid}:{self.token}".encode()).decode()
        match = NUMBERS.match(parts.path)
        if auth != f"Basic {expected}" or not match or match[1] != self.account_sid:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if method == "GET" and match[2] is None:
            wanted = dict(urllib.parse.parse_qsl(parts.query)).get("PhoneNumber", "")
            found = [n for n in self.numbers.values() if wanted in n["phone_number"]]
            meta = {"first_page_uri": parts.path, "next_page_uri": None, "page": 0}
            return 200, {"incoming_phone_numbers": found, **meta}
        if method == "POST" and match[2] in self.numbers:
            number = self.numbers[match[2]]
            for name, value in form.items():
                number[re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()] = value or None
            return 200, number
        return 404, {"code": 20404, "message": "The requested resource was not found"}


class _Api(BaseHTTPRequestHandler):
    """Requests on one tunnelled connection, kept alive as requests keeps them."""

    protocol_version = "HTTP/1.1"
    server: Any

    def do_GET(self) -> None:
        self._answer("")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length).decode())

    def _answer(self, body: str) -> None:
        standin: TwilioStandIn = self.server
        status, payload = standin.answer(
            self.command, self.path, self.headers.get("Authorization", ""), body
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _certificate(folder: Path) -> Path:
    """A self-signed certificate for api.twilio.com, which the client is told to trust."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (apt-get install openssl); ivr connect is untested")
    certificate = folder / "standin-cert.pem"
    key = folder / "standin-key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", f"/CN={API_HOST}"),
            *("-addext", f"subjectAltName=DNS:{API_HOST}"),
        ],
        check=True,
        capture_output=True,
    )
    return certificate
