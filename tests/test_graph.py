"""The call-flow diagram is drawn from the YAML, and the committed one is up to date."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ivr.menu.load import load_line
from ivr.tools.graph import flowchart, to_mermaid, to_svg
from tests.conftest import ROOT

LINE = load_line(ROOT / "prompts")


def test_the_committed_diagram_matches_the_yaml():
    chart = flowchart(LINE)
    assert (ROOT / "docs/call-flow.svg").read_text() == to_svg(chart), "run `ivr graph`"
    assert (ROOT / "docs/call-flow.mmd").read_text() == to_mermaid(chart), "run `ivr graph`"


def test_the_diagram_shows_every_menu_section_key_and_the_transfer_paths():
    svg = ET.fromstring(to_svg(flowchart(LINE)))
    texts = " | ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for section in LINE.sections:
        assert f"section {section}" in texts
    for key, target in LINE.menus["main"].keys.items():
        assert f"{key}: " in texts and (target in texts or target == "repeat")
    assert "transfer to +18663319474" in texts
    assert "0, anywhere" in texts and "3 silent tries" in texts
    assert "busy / no-answer / failed / canceled" in texts and "completed" in texts
    assert "wrong key: not an option, again" in texts
    assert "0: again" in texts and "noise: again; twice: keys only" in texts


def test_a_changed_menu_changes_the_diagram(prompts_copy):
    menu = prompts_copy / "menu.yaml"
    menu.write_text(menu.read_text().replace("then: transfer", "then: goodbye"))
    changed = to_mermaid(flowchart(load_line(prompts_copy)))
    assert changed != to_mermaid(flowchart(LINE))
    assert 'main -- "3 silent tries (1 from answer)" --> goodbye' in changed
