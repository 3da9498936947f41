"""The log: every line in one format, the fast webhook line included, and nothing held back."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import TOKEN, start_server, stop_server

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z (DEBUG|INFO|WARNING) ivr: .+$")
SID = "CA" + "0123456789abcdef" * 2


def run(program: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    return result.stderr.splitlines()


def test_the_webhook_line_looks_like_any_other_line():
    first, second = run(
        "import logging\n"
        "from ivr.web.log_output import configure, WebhookLog\n"
        "configure('DEBUG')\n"
        f"WebhookLog()('{SID}', 'key at=main#0/m0')\n"
        "logging.getLogger('ivr').warning('a warning')\n"
    )
    assert LINE.match(first) and LINE.match(second)
    assert re.search(r" DEBUG ivr: call=[0-9a-f]{10} key at=main#0/m0$", first)
    assert second.endswith(" WARNING ivr: a warning")


def test_every_line_is_written_and_the_level_is_honoured():
    lines = run(
        "from ivr.web.log_output import configure, WebhookLog\n"
        "configure('DEBUG')\n"
        "log = WebhookLog()\n"
        f"for i in range(1000): log('{SID}', f'key line {{i}}')\n"
        "configure('INFO')\n"
        "log('{SID}', 'not written at the default level')\n"
    )
    assert len(lines) == 1000 and lines[-1].endswith(" key line 999")
    assert all(LINE.match(line) for line in lines)


def test_the_server_logs_cleanly_from_start_to_shutdown(tmp_path):
    server = start_server(tmp_path / "log", {"TWILIO_AUTH_TOKEN": TOKEN})
    server.call().start().press("1")
    stop_server(server)
    log = server.log()
    assert "Shutting down: Master" in log
    assert "Logging error" not in log and "Traceback" not in log


def test_refused_requests_are_summed_up_once_an_interval():
    lines = run(
        "import time\n"
        "from ivr.web.log_output import configure\n"
        "from ivr.web.refusals import Refusals, SIGNATURE, TOO_SLOW\n"
        "configure('INFO')\n"
        "refused = Refusals(interval=0.5)\n"
        "for _ in range(300): refused.count(SIGNATURE)\n"
        "refused.count(TOO_SLOW)\n"
        "time.sleep(1)\n"
        "refused.count(SIGNATURE)\n"
        "time.sleep(1)\n"
        "refused.count(TOO_SLOW)\n"  # written when the process stops
    )
    assert [re.sub(r"\d+ s:", "N s:", line.split(" ivr: ")[1]) for line in lines] == [
        "refused in the last N s: 300 without a valid X-Twilio-Signature, "
        "1 not sent whole within the request deadline",
        "refused in the last N s: 1 without a valid X-Twilio-Signature",
        "refused in the last N s: 1 not sent whole within the request deadline",
    ]
    assert all(LINE.match(line) and " WARNING " in line for line in lines)
