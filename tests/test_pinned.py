"""Deploys and CI install the same pinned versions, each checked against its hashes."""

from __future__ import annotations

import re
import tomllib

from tests.helpers import ROOT

# A pin and the indented lines under it (its hashes, and what needs it).
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)(.*\n(?:[ \t].*\n)*)", re.MULTILINE)


def pins(name: str) -> dict[str, tuple[str, str]]:
    text = (ROOT / name).read_text()
    return {m[1].lower().replace("_", "-"): (m[2], m[3]) for m in PIN.finditer(text)}


def test_every_server_dependency_is_pinned_with_its_hashes():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    runtime = pins("requirements.txt")
    for requirement in declared:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
        assert name in runtime, f"{name} is not pinned: run `make lock`"
    assert all("--hash=sha256:" in hashes for _, hashes in runtime.values())


def test_ci_installs_the_versions_a_deploy_installs():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert {name: version for name, (version, _) in runtime.items()} == {
        name: dev[name][0] for name in runtime
    }
    assert {"pytest", "ruff", "pocketsphinx"} <= set(dev)
