"""The README a newcomer reads in two minutes, and every link in the docs leading somewhere."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCS = sorted([ROOT / "README.md", ROOT / "audio/README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without code blocks and code spans, where a bracket is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lowercased, with punctuation dropped and
    spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())  # \w keeps letters of any script, digits, _
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file, a repeated one numbered as GitHub numbers it."""
    seen: dict[str, int] = {}
    found = set()
    for _, heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    text = prose(path.read_text(encoding="utf-8"))
    return INLINE_LINK.findall(text) + REFERENCE.findall(text)


def test_githubs_anchor_rules():
    assert anchor("Connecting a Twilio number") == "connecting-a-twilio-number"
    assert (
        anchor("Deleting call logs from Twilio (optional)")
        == "deleting-call-logs-from-twilio-optional"
    )
    assert anchor("`ivr check`: what it finds") == "ivr-check-what-it-finds"
    assert anchor("Sí, en español") == "sí-en-español"
    assert anchor("[The map](x.md) of it") == "the-map-of-it"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_leads_somewhere(path):
    broken = []
    for target in links(path):
        parts = urllib.parse.urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue  # a web address: not this repository's to check
        file = (path.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else path
        if not file.exists():
            broken.append(
                f"{target}: no {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}"
            )
        elif parts.fragment and file.suffix == ".md" and parts.fragment not in anchors(file):
            broken.append(f"{target}: no heading #{parts.fragment} in {file.relative_to(ROOT)}")
        elif not file.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_check_finds_a_broken_link_and_a_broken_anchor(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## Its part\n")
    page.write_text(
        "# Page\n[fine](other.md#its-part) [gone](missing.md) [lost](other.md#no-such-part) "
        "`[not a link](x.md)`\n```\n[nor this](y.md)\n```\n[self](#page)\n"
    )
    assert links(page) == ["other.md#its-part", "missing.md", "other.md#no-such-part", "#page"]
    assert anchors(tmp_path / "other.md") == {"other", "its-part"}


def test_a_newcomer_finds_the_two_commands_on_the_first_screen():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(readme) <= 250
    first_screen = "\n".join(readme[:40])
    for command in ("make run", "make test"):
        assert re.search(rf"^{command}\b", first_screen, re.MULTILINE), command
    # What the line is and what a call sounds like come before them.
    assert first_screen.index("What a call sounds like") < first_screen.index("make run")
    assert "press **0**" in first_screen
