"""A month of made-up calls through the real server, for the usage report's example.

One server a day, its clock set to that day by faketime (Debian's `faketime` package), each
taking a day's worth of calls down the menu's paths; then `ivr usage --month` prints the month
and draws docs/usage-example.svg.

    python bench/usage_example.py [--month 2026-03] [--svg docs/usage-example.svg]
"""

from __future__ import annotations

import argparse
import calendar
import glob
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.audio.manifest import read_manifest
from ivr.tools.simulated_call import SimulatedCall, http_post
from tests.helpers import ROOT, TOKEN, settled, start_procfile


def one_call(call: SimulatedCall, chance: random.Random) -> None:
    """A caller: a language, a section or two, sometimes the hotline and its outcome."""
    call.start()
    if chance.random() < 0.05:
        call.press("")  # silent: put through
        call.dial_outcome(chance.choice(["completed", "completed", "no-answer"]))
        return
    if chance.random() < 0.22:
        call.press("9")
    for _ in range(chance.choice([1, 1, 2])):
        call.press(chance.choice("123"))
        for _ in range(chance.randint(0, 12)):
            if call.ended or call.waiting_for != "key":
                return
            call.press(chance.choice(["1", "1", "1", "2", "3"]))
        if call.ended or call.waiting_for != "key":
            return
        call.press("*")
    if chance.random() < 0.35:
        call.press("0")
        outcome = chance.choices(["completed", "busy", "no-answer", "failed"], [70, 15, 10, 5])
        call.dial_outcome(outcome[0])


def a_day(day: date, calls: int, usage_db: Path, log: Path, chance: random.Random) -> None:
    library = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not library:
        raise SystemExit("faketime is not installed: apt-get install faketime")
    env = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "USAGE_DB": str(usage_db),
        "WEB_CONCURRENCY": "1",
        "LD_PRELOAD": library[0],
        "FAKETIME": f"@{day} 09:00:00",
    }
    with log.open("ab") as out:
        process, url = start_procfile("ivr.wsgi:app", out, env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=10):
                    if settled(process.pid, 1):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        entries = read_manifest(ROOT / "audio").recordings.values()
        for n in range(calls):
            call = SimulatedCall(
                http_post,
                f"{url}/voice",
                auth_token=TOKEN,
                call_sid=f"CA{day.toordinal():016x}{n:016x}",
                recordings={e["file"]: e for e in entries},
            )
            one_call(call, chance)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--svg", default=str(ROOT / "docs/usage-example.svg"))
    args = parser.parse_args()
    year, month = (int(part) for part in args.month.split("-"))
    chance = random.Random(f"usage-{args.month}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        usage_db = folder / "usage.sqlite3"
        for number in range(1, calendar.monthrange(year, month)[1] + 1):
            day = date(year, month, number)
            weekend = day.weekday() >= 5
            calls = max(3, round(chance.gauss(16 if weekend else 26, 6)))
            a_day(day, calls, usage_db, folder / "server.log", chance)
        ivr = str(Path(sys.executable).parent / "ivr")
        env = {**os.environ, "USAGE_DB": str(usage_db)}
        command = [ivr, "usage", "--month", args.month, "--svg", args.svg]
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
