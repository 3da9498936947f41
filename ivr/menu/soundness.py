"""Menu soundness: every part reachable from the greeting, and a way back from every part.

The hotline key works everywhere by construction (no menu may take it), and silence ends
after a set number of tries, so these are the properties left to check in the YAML.
"""

from __future__ import annotations

from ivr.errors import Where
from ivr.menu.model import REPEAT, Menu, PhoneLine, Section


def _next_nodes(line: PhoneLine, node_id: str) -> set[str]:
    if node_id in line.sections:
        return {line.start}  # every section has the main-menu key
    return {t for t in line.menus[node_id].keys.values() if t != REPEAT}


def reachable(line: PhoneLine, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in _next_nodes(line, todo.pop()) - seen:
            seen.add(target)
            todo.append(target)
    return seen


def menu_problems(line: PhoneLine) -> list[tuple[Where, str]]:
    """Each problem with where it is and what to do, in YAML order."""
    problems: list[tuple[Where, str]] = []
    from_greeting = reachable(line, line.start)
    nodes: list[Menu | Section] = [*line.menus.values(), *line.sections.values()]
    for node in nodes:
        kind = "section" if node.id in line.sections else "menu"
        if node.id not in from_greeting:
            problems.append(
                (
                    node.where,
                    f"{kind} {node.id!r} cannot be reached from the greeting; "
                    "give it a key in a menu that can",
                )
            )
        if node.id != line.start and line.start not in reachable(line, node.id):
            problems.append(
                (
                    node.where,
                    f"menu {node.id!r} has no way back to the main menu; "
                    f"add a key that goes to {line.start!r}",
                )
            )
    if not _next_nodes(line, line.start):
        problems.append(
            (
                line.menus[line.start].where,
                f"the main menu {line.start!r} leads nowhere; give it keys for the sections",
            )
        )
    return problems
