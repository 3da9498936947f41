"""How fast the line answers, measured against the floor in one run.

Prints a table of figures and writes it to docs/benchmarks.md. Needs wrk (apt-get install wrk).

    python bench/benchmark.py [--seconds 3] [--samples 3000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from copy import deepcopy
from pathlib import Path

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import gunicorn, lua_script, run_wrk
from ivr.menu.load import load_line
from ivr.menu.model import SYSTEM_PROMPTS
from ivr.web.fallback import APOLOGY
from tests.helpers import ROOT, TOKEN, signed_request

# The webhook kinds a call is made of: (name, path, form fields).
KINDS = [
    ("greeting", "voice", {}),
    ("menu key", "key?n=main&p=0&m=0", {"Digits": "1"}),
    ("section point", "key?n=police&p=2&m=0", {"Digits": "1"}),
    ("transfer callback", "dial?n=main&p=0&m=0", {"DialCallStatus": "busy"}),
    ("wrong key", "key?n=main&p=0&m=0", {"Digits": "7"}),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- in-process ------------------------------------------------------------------------------


def in_process(samples: int, folder: Path) -> list[tuple[str, str, float, float]]:
    """p50 and p99 in microseconds of the WSGI app answering each kind, signed or not, its
    usage counted into an SQLite file or not counted at all."""
    import io

    from werkzeug.test import EnvironBuilder

    from ivr.web.app import create_app
    from ivr.web.settings import Settings

    rows = []
    usage_db = folder / "in-process.sqlite3"
    for label, token, counted in (
        ("signature checked", TOKEN, usage_db),
        ("signature checked, not counted", TOKEN, None),
        ("no signature check", None, usage_db),
    ):
        # As in production: PUBLIC_BASE_URL set (here, the address the requests are made for).
        settings = Settings(
            auth_token=token,
            log_level="INFO",
            public_base_url="http://localhost",
            usage_db=counted,
        )
        app = create_app(settings)
        _quiet(app)
        for name, path, extra in KINDS:
            request = signed_request("http://localhost", path, extra)
            headers = (
                request["headers"]
                if token
                else {"Content-Type": "application/x-www-form-urlencoded"}
            )
            body = str(request["body"]).encode()
            template = EnvironBuilder(
                path=str(request["path"]).split("?")[0],
                query_string=str(request["path"]).partition("?")[2],
                method="POST",
                headers=headers,  # type: ignore[arg-type]
                data=body,
                base_url="http://localhost",
            ).get_environ()
            timings = []
            for index in range(samples + samples // 10):
                environ = {**template, "wsgi.input": io.BytesIO(body)}
                statuses: list[str] = []
                start_response = statuses.append  # the status is the first argument
                started = time.perf_counter_ns()
                answer = b"".join(app.wsgi_app(environ, lambda s, h, r=start_response: r(s)))
                elapsed = time.perf_counter_ns() - started
                if not statuses[0].startswith("200") or APOLOGY.encode() in answer:
                    raise SystemExit(f"{name}: {statuses[0]} {answer[:200]!r}")
                if index >= samples // 10:  # the first tenth warms up
                    timings.append(elapsed / 1000)
            rows.append((name, label, percentile(timings, 0.5), percentile(timings, 0.99)))
    return rows


def _quiet(app) -> None:
    """Keep the log, but write it nowhere, so the terminal is not timed."""
    for handler in logging.getLogger("ivr").handlers:
        handler.given_fd = os.open(os.devnull, os.O_WRONLY)


# --- over HTTP, against the floor --------------------------------------------------------------


def over_http(seconds: float, folder: Path, rounds: int = 3) -> list[tuple[str, dict, dict]]:
    """The line and the floor in turn, `rounds` times per endpoint; the median round of each."""
    rows = []
    with (
        (folder / "line.log").open("wb") as line_log,
        (folder / "floor.log").open("wb") as floor_log,
        gunicorn("ivr.wsgi:app", line_log, {"USAGE_DB": str(folder / "line.sqlite3")}) as line,
        gunicorn("bench.floor_app:app", floor_log) as floor,
    ):
        for name, path, extra in KINDS:
            runs: dict[str, list[dict]] = {"line": [], "floor": []}
            for who, served in (("line", line), ("floor", floor)):
                script = folder / f"{who}.lua"
                script.write_text(lua_script([signed_request(served.url, path, extra)], 10**7))
                run_wrk(served.url, script, 1, connections=8, threads=1)  # warm up
            for _ in range(rounds):
                for who, served in (("line", line), ("floor", floor)):
                    figures = run_wrk(
                        served.url, folder / f"{who}.lua", seconds, connections=16, threads=2
                    )
                    if figures["errors"]:
                        raise SystemExit(f"{who} {name}: {figures['output']}")
                    runs[who].append(figures)
            median = {
                who: sorted(found, key=lambda f: f["rps"])[len(found) // 2]
                for who, found in runs.items()
            }
            rows.append((name, median["line"], median["floor"]))
    return rows


# --- start-up ---------------------------------------------------------------------------------

STARTUP = """
import json, time
t0 = time.perf_counter()
from ivr.web.app import create_app
from ivr.web.settings import Settings
t1 = time.perf_counter()
app = create_app(Settings.from_env())
t2 = time.perf_counter()
reply = app.test_client().post("/voice", data={"CallSid": "CA1", "To": "+15005550001"})
assert reply.status_code == 200, reply.status_code
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2, "ready": t3 - t0}))
"""


def startup(prompts: Path, folder: Path, runs: int = 7) -> dict[str, float]:
    results = []
    for _ in range(runs):
        env = {
            "PROMPTS_DIR": str(prompts),
            "LOG_LEVEL": "ERROR",
            "TWILIO_AUTH_TOKEN": "",
            "USAGE_DB": str(folder / "startup.sqlite3"),
        }
        out = subprocess.run(
            [sys.executable, "-c", STARTUP],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
            cwd=ROOT,
        ).stdout
        results.append(json.loads(out))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


COPIES = 10


def ten_times_larger(folder: Path) -> tuple[Path, int]:
    """A copy of prompts/ with ten copies of every section, under ten sub-menus."""
    prompts = folder / "prompts10"
    shutil.copytree(ROOT / "prompts", prompts)
    menu = yaml.safe_load((prompts / "menu.yaml").read_text())
    sections, menus = {}, {"main": {"prompt": "main_menu", "keys": {}}}
    keys = [*"12345678", "*"]  # 9 switches to Spanish and # is for more time
    for copy in range(COPIES):
        sub = f"more_{copy}"
        if copy < len(keys):
            menus["main"]["keys"][keys[copy]] = sub
        else:  # the main menu is full: the last copies hang off the one before
            menus[f"more_{copy - 1}"]["keys"]["4"] = sub
        menus[sub] = {"prompt": "main_menu", "keys": {"*": "main"}}
        for index, (section_id, section) in enumerate(menu["sections"].items(), start=1):
            menus[sub]["keys"][str(index)] = f"{section_id}_{copy}"
            sections[f"{section_id}_{copy}"] = {
                "points": [f"{p}_{copy}" for p in section["points"]]
            }
    count = 0
    original_words: dict[str, dict[str, list[str]]] = {}
    for code in menu["languages"]:
        path = prompts / f"{code}.yaml"
        language = yaml.safe_load(path.read_text())
        original_words[code] = {
            option: [*phrases, language["option_names"].get(option, "")]
            for option, phrases in language["words"].items()
        }
        for section_id, section in menu["sections"].items():
            for point in section["points"]:
                # A point the line also speaks itself (the privacy tip) stays as it is.
                said = language["prompts"]
                text = said[point] if point in SYSTEM_PROMPTS else said.pop(point)
                for copy in range(COPIES):
                    language["prompts"][f"{point}_{copy}"] = deepcopy(text)  # no YAML anchors
            words = language["words"].pop(section_id)
            name = language["option_names"].pop(section_id)
            for copy in range(COPIES):
                language["words"][f"{section_id}_{copy}"] = [f"{w} {copy}" for w in words]
                language["words"][f"more_{copy}"] = [f"more {copy}"]
                language["option_names"][f"{section_id}_{copy}"] = f"{name} {copy}"
        language["words"]["main"] = list(language["words"]["main_menu"])  # sub-menus' way back
        # The main menu's prompt still says what its first keys are for: the sub-menus now on
        # those keys answer to those words, so that the keys do what the prompt says.
        for key, said_for in menu["menus"]["main"]["keys"].items():
            sub = menus["main"]["keys"].get(key)
            if sub is not None and said_for in original_words[code]:
                language["words"][sub] = original_words[code][said_for]
        count += len(language["prompts"])
        path.write_text(yaml.safe_dump(language, sort_keys=False, allow_unicode=True))
    menu["menus"], menu["sections"] = menus, sections
    (prompts / "menu.yaml").write_text(yaml.safe_dump(menu, sort_keys=False))
    return prompts, count


# --- audio ------------------------------------------------------------------------------------


def audio(seconds: float, folder: Path) -> dict[str, float]:
    manifest = json.loads((ROOT / "audio/manifest.json").read_text())["recordings"]
    entry = manifest["en/greeting"]
    total_bytes = sum(e["bytes"] for e in manifest.values())
    total_seconds = sum(e["duration"] for e in manifest.values())
    with (
        (folder / "audio.log").open("wb") as log,
        gunicorn("ivr.wsgi:app", log, {"USAGE_DB": str(folder / "audio.sqlite3")}) as served,
    ):
        path = f"/audio/{entry['file']}?v={entry['sha256'][:16]}"
        revalidate = {
            "method": "GET",
            "path": path,
            "headers": {"If-None-Match": f'"{entry["sha256"]}"'},
            "body": None,
        }
        script = folder / "revalidate.lua"
        script.write_text(lua_script([revalidate], 10**7))
        run_wrk(served.url, script, 1, connections=8, threads=1)
        figures = run_wrk(served.url, script, seconds, connections=16, threads=2)
        fetch = {**revalidate, "headers": {}}
        script.write_text(lua_script([fetch], 10**7))
        full = run_wrk(served.url, script, seconds, connections=16, threads=2)
    return {
        "bytes_per_second": total_bytes / total_seconds,
        "revalidate_rps": figures["rps"],
        "revalidate_p50_ms": figures["p50_ms"],
        "revalidate_p99_ms": figures["p99_ms"],
        "fetch_rps": full["rps"],
        "fetch_p99_ms": full["p99_ms"],
        "greeting_bytes": entry["bytes"],
    }


# --- report -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8, help="wrk time per endpoint")
    parser.add_argument("--samples", type=int, default=3000, help="in-process samples per kind")
    parser.add_argument("--report", default=str(ROOT / "docs/benchmarks.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        local = in_process(args.samples, folder)
        http = over_http(args.seconds, folder)
        shipped = startup(ROOT / "prompts", folder)
        large, prompt_count = ten_times_larger(folder)
        larger = startup(large, folder)
        sound = audio(args.seconds, folder)

    out = [
        "# Benchmarks",
        "",
        f"`python bench/benchmark.py --seconds {args.seconds:g} --samples {args.samples}`, "
        "one run, on a 2-core machine shared with the load generator. Only ratios taken in the "
        "same run mean much.",
        "",
        "## In-process latency (WSGI app at LOG_LEVEL=INFO, usage counted into SQLite)",
        "",
        "| webhook | signature | p50 µs | p99 µs |",
        "| --- | --- | ---: | ---: |",
        *(f"| {n} | {label} | {p50:.0f} | {p99:.0f} |" for n, label, p50, p99 in local),
        "",
        "Target: p99 under 1,000 µs for every webhook.",
        "",
        "## Over HTTP: the line against the floor",
        "",
        "gunicorn as the Procfile runs it (2 workers), on loopback, wrk with 2 threads and 16 "
        f"connections, signed requests; line and floor in turn, 3 rounds of {args.seconds:g} s "
        "per endpoint, the median round of each. The floor is "
        "`bench/floor_app.py`: parse the form, check the signature with RequestValidator, "
        "return one constant TwiML document as long as a typical answer of the line's (1,400 "
        "bytes), under the same gunicorn command. The line counts its usage into an SQLite file, "
        "as in production.",
        "",
        "| webhook | line req/s | floor req/s | ratio | line p99 ms | floor p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = []
    for name, line, floor in http:
        ratio = line["rps"] / floor["rps"]
        ratios.append(ratio)
        out.append(
            f"| {name} | {line['rps']:,.0f} | {floor['rps']:,.0f} | {ratio:.2f} | "
            f"{line['p99_ms']:.2f} | {floor['p99_ms']:.2f} |"
        )
    out += [
        "",
        f"Lowest ratio {min(ratios):.2f}, mean {statistics.mean(ratios):.2f}. Target: at least "
        "1.0: the line answers as fast as the least a correct webhook must do.",
        "",
        "## Start-up (median of 7 fresh processes)",
        "",
        "| menu | prompts, all languages | import s | load, check s | first answer s | ready s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    shipped_prompts = sum(
        len(lang.prompts) for lang in load_line(ROOT / "prompts").languages.values()
    )
    for label, figures, count in (
        ("shipped", shipped, shipped_prompts),
        ("ten times larger (synthetic)", larger, prompt_count),
    ):
        out.append(
            f"| {label} | {count} | {figures['import']:.3f} | {figures['load']:.3f} | "
            f"{figures['first']:.3f} | {figures['ready']:.3f} |"
        )
    out += [
        "",
        "Target: ready in under 1 s for the shipped menu. The load includes the check that "
        "every key a prompt names works where it is heard, which walks every moment of every "
        "call (about 650 of them): a line that tells a caller to press a dead key never starts.",
        "",
        "## Audio",
        "",
        "| figure | value |",
        "| --- | ---: |",
        "| bytes per second of served audio (8 kHz mu-law: 8,000) | "
        f"{sound['bytes_per_second']:,.0f} |",
        f"| revalidation (conditional GET answered 304), req/s | {sound['revalidate_rps']:,.0f} |",
        f"| revalidation p50 / p99 | {sound['revalidate_p50_ms']:.2f} / "
        f"{sound['revalidate_p99_ms']:.2f} ms |",
        f"| full fetch of the greeting ({sound['greeting_bytes']:,} bytes), req/s | "
        f"{sound['fetch_rps']:,.0f} |",
        f"| full fetch p99 | {sound['fetch_p99_ms']:.2f} ms |",
        "",
    ]
    report = "\n".join(out)
    print(report)
    Path(args.report).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
