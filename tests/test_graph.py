"""The call-flow diagram is drawn from the YAML, and the committed one is up to date."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ivr.menu.load import load_line
from ivr.tools.graph import flowchart, to_mermaid, to_svg
from tests.helpers import ROOT, edit


def test_the_committed_diagram_matches_the_yaml(line):
    chart = flowchart(line)
    assert (ROOT / "docs/call-flow.svg").read_text() == to_svg(chart), "run `ivr graph`"
    assert (ROOT / "docs/call-flow.mmd").read_text() == to_mermaid(chart), "run `ivr graph`"


def test_the_diagram_shows_every_menu_section_key_and_the_transfer_paths(line):
    svg = ET.fromstring(to_svg(flowchart(line)))
    texts = " | ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for section in line.sections:
        assert f"section {section}" in texts
    for key, target in line.menus["main"].keys.items():
        assert f"{key}: " in texts and (target in texts or target == "repeat")
    assert "transfer to +18663319474" in texts
    assert "0, anywhere" in texts and "3 silent tries" in texts
    assert "busy / no-answer / failed / canceled" in texts and "completed" in texts
    assert "wrong key: not an option, again" in texts
    assert "0: again" in texts and "noise: again; twice: keys only" in texts


def test_a_changed_menu_changes_the_diagram(prompts_copy, line):
    edit(prompts_copy / "menu.yaml", "then: transfer", "then: goodbye")
    changed = to_mermaid(flowchart(load_line(prompts_copy)))
    assert changed != to_mermaid(flowchart(line))
    assert 'main -- "3 silent tries (1 from answer)" --> goodbye' in changed
