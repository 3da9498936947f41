"""Every variable the line reads is described where an operator looks: app.json (Heroku's
button), .env.example and docs/operators.md. The variables are found in the code itself."""

from __future__ import annotations

import ast
import json
import re
import shutil
from typing import Any

import pytest

from ivr.web.settings import Settings
from tests.helpers import ROOT, ivr

NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# What the platform sets itself: an operator never gives it.
SET_BY_THE_PLATFORM = {"PORT"}
# Marked "Secret" in app.json, which has no flag for it, and given no value there.
SECRETS = {"TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN_PREVIOUS", "TWILIO_WEBHOOK_KEYS", "REDIS_URL"}
# Heroku's app.json schema: its top-level keys, and what a variable may say of itself.
APP_JSON_KEYS = {
    "name", "description", "keywords", "website", "repository", "logo", "success_url",
    "scripts", "env", "formation", "image", "addons", "buildpacks", "environments", "stack",
}  # fmt: skip
VARIABLE_KEYS = {"description", "value", "required", "generator"}
SLEEPING_DYNOS = {"free", "eco"}  # asleep after 30 minutes without a request


def _is_environment(node: ast.expr) -> bool:
    """`env` (a mapping of the environment, by this project's convention) or `os.environ`."""
    if isinstance(node, ast.Name):
        return node.id == "env"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
        return node.value
    return None


def variables_read() -> dict[str, set[str]]:
    """Every variable ivr/ reads, with where: env.get("X"), os.environ["X"], os.getenv("X"), a
    helper given the environment and the name (switch(env, "X", ...)); and the Procfile's."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ivr").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str | None] = []
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Attribute) and node.args:
                    if function.attr == "get" and _is_environment(function.value):
                        names.append(_name(node.args[0]))
                    if function.attr == "getenv":
                        names.append(_name(node.args[0]))
                for index, argument in enumerate(node.args[:-1]):
                    if _is_environment(argument):
                        names.append(_name(node.args[index + 1]))
            elif isinstance(node, ast.Subscript) and _is_environment(node.value):
                names.append(_name(node.slice))
            for name in filter(None, names):
                found.setdefault(name, set()).add(where)
    for name in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", (ROOT / "Procfile").read_text()):
        found.setdefault(name, set()).add("Procfile")
    return found


@pytest.fixture(scope="module")
def app_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "app.json").read_text())
    return loaded


def test_the_variables_are_found_in_the_code():
    """The finder itself: it sees each way the code reads a variable, and only variables."""
    read = variables_read()
    for name, where in {
        "TWILIO_AUTH_TOKEN": "ivr/web/settings.py",  # env.get
        "DELETE_CALL_LOGS": "ivr/web/settings.py",  # switch(env, name, default)
        "PROMPTS_DIR": "ivr/web/settings.py",  # content_folder(env, name, folder)
        "PORT": "ivr/tools/cli.py",  # os.environ.get
        "WEB_CONCURRENCY": "ivr/web/gunicorn_config.py",  # a helper given os.environ and the name
        "HOST": "ivr/web/gunicorn_config.py",
    }.items():
        assert where in read.get(name, set()), name
    assert not {"INFO", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"} & set(read)


def test_app_json_describes_every_variable_the_line_reads(app_json):
    described = set(app_json["env"])
    read = variables_read()
    missing = {name: where for name, where in read.items() if name not in described}
    assert not set(missing) - SET_BY_THE_PLATFORM, f"not in app.json: {missing}"
    assert not described - set(read), "app.json describes variables nothing reads"
    assert not described & SET_BY_THE_PLATFORM


def test_app_json_follows_herokus_schema(app_json):
    assert set(app_json) <= APP_JSON_KEYS
    for name, variable in app_json["env"].items():
        assert NAME.match(name)
        assert isinstance(variable, dict) and set(variable) <= VARIABLE_KEYS, name
        assert isinstance(variable["description"], str) and variable["description"].strip()
        assert isinstance(variable.get("value", ""), str), f"{name}: a value is a string"
        assert isinstance(variable.get("required", True), bool), name
        assert variable.get("generator", "secret") == "secret", name


def test_secrets_are_marked_and_have_no_value(app_json):
    for name, variable in app_json["env"].items():
        marked = variable["description"].startswith("Secret")
        assert marked == (name in SECRETS), f"{name}: marked secret is {marked}"
        if name in SECRETS:
            assert "value" not in variable, f"{name}: a secret is never shipped"
    # Heroku asks for a required variable without a value: the auth token, and only it.
    asked = {n for n, v in app_json["env"].items() if v.get("required", True) and "value" not in v}
    assert asked == {"TWILIO_AUTH_TOKEN"}


def test_the_values_app_json_gives_are_ones_the_line_accepts(app_json):
    given = {name: v["value"] for name, v in app_json["env"].items() if "value" in v}
    Settings.from_env(
        {
            **given,
            "TWILIO_AUTH_TOKEN": "x",
            "PROMPTS_DIR": str(ROOT / "prompts"),
            "AUDIO_DIR": str(ROOT / "audio"),
        }
    )
    assert given["PROXY_HOPS"] == "1"  # Heroku's router sets X-Forwarded-*


def test_app_json_runs_the_procfiles_processes_on_a_dyno_that_never_sleeps(app_json):
    processes = {
        line.split(":", 1)[0]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if re.match(r"^\w+:", line)
    }
    assert set(app_json["formation"]) == processes
    for process in app_json["formation"].values():
        assert process["quantity"] >= 1
        assert process["size"].lower() not in SLEEPING_DYNOS


def test_env_example_and_the_operators_docs_name_every_variable():
    example = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    documented = set(
        re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", (ROOT / "docs/operators.md").read_text(), re.M)
    )
    read = set(variables_read())
    assert not read - example, f"not in .env.example: {read - example}"
    assert not read - documented, f"not in docs/operators.md: {read - documented}"


def test_a_env_file_copied_from_the_example_works(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    content = {"PROMPTS_DIR": str(ROOT / "prompts"), "AUDIO_DIR": str(ROOT / "audio")}
    result = ivr("call", "--keys", "q", cwd=tmp_path, **content)
    assert result.returncode == 0, result.stderr
    assert "hangs up" in result.stdout
