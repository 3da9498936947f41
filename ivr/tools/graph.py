"""`ivr graph`: the call flow drawn from the YAML, as SVG and as Mermaid text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from ivr.menu.model import REPEAT, PhoneLine

BOX_WIDTH = 250
LINE_HEIGHT = 16
GAP_X = 30
GAP_Y = 70
MARGIN = 20


@dataclass
class Box:
    id: str
    title: str
    lines: list[str]
    style: str  # "start", "menu", "section", "transfer", "end"
    row: int = 0
    x: float = 0
    y: float = 0

    @property
    def height(self) -> int:
        return LINE_HEIGHT * (len(self.lines) + 1) + 14


@dataclass
class Flowchart:
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # from, to, label


def flowchart(line: PhoneLine) -> Flowchart:
    """The call flow as boxes and labelled arrows, in rows by distance from the greeting."""
    chart = Flowchart()
    keys = line.section_keys
    hotline = line.hotline
    tries = line.no_input.tries
    prompts = line.languages[line.default_language].prompts

    def add(box: Box) -> None:
        chart.boxes.setdefault(box.id, box)

    offers = [
        f"then in {code}, with key {lang.switch_key}"
        for code, lang in line.languages.items()
        if lang.switch_key is not None
    ]
    add(
        Box(
            "call",
            "A call comes in",
            [
                "the 911 advice first,",
                *offers,
                "a recorded guide, not the police;",
                f"{hotline.key} for an advocate",
            ],
            "start",
        )
    )
    chart.edges.append(("call", line.start, ""))
    row = {line.start: 1}
    order = [line.start]
    for node_id in order:
        if node_id in line.menus:
            menu = line.menus[node_id]
            lines = [
                f"{k}: {'repeat this menu' if t == REPEAT else t}" for k, t in menu.keys.items()
            ]
            if node_id == line.start:
                lines += [
                    f"{lang.switch_key}: the whole call in {code}"
                    for code, lang in line.languages.items()
                    if lang.switch_key is not None
                ]
            silent = line.no_input.silent_caller
            lines += [
                f"{line.more_time.key}: more time (waits x{line.more_time.factor})",
                "wrong key: not an option, again",
                f"silence: again, {tries} tries"
                + (f" ({silent} from answer)" if silent and node_id == line.start else ""),
                "speech: an option, or a key's name",
                "words for two options: asked which",
                "noise: again; twice: keys only",
            ]
            add(Box(node_id, f"menu {node_id}", lines, "menu", row[node_id]))
            for key, target in menu.keys.items():
                if target != REPEAT:
                    chart.edges.append((node_id, target, key))
                    if target not in row:
                        row[target] = row[node_id] + 1
                        order.append(target)
        else:
            points = line.sections[node_id].points
            first = prompts[points[0]].text
            lines = [
                f"{len(points)} points, one at a time",
                _clip(first, 36),
                f"{keys.next} next · {keys.repeat} repeat · {keys.previous} back",
                f"{keys.main_menu} main menu · {line.more_time.key} more time",
                "silence: next point",
                "noise: the point again",
                "after the last point: main menu",
            ]
            add(Box(node_id, f"section {node_id}", lines, "section", row[node_id]))

    depth = max(row.values()) + 1
    give_up = "transfer" if line.no_input.then == "transfer" else "goodbye"
    backups = [
        f"then {b.number} ({b.ring_seconds} s) if busy or unanswered" for b in hotline.backups
    ]
    add(
        Box(
            "hotline",
            f"transfer to {hotline.number}",
            [
                f"key {hotline.key} from every menu and point",
                f"rings {hotline.ring_seconds} s",
                *backups,
            ],
            "transfer",
            depth,
        )
    )
    chart.edges.append((line.start, "hotline", f"{hotline.key}, anywhere"))
    silent = line.no_input.silent_caller
    given_up = f"{tries} silent tries" + (f" ({silent} from answer)" if silent else "")
    if give_up == "transfer":
        chart.edges.append((line.start, "hotline", given_up))
    else:
        add(Box("goodbye", "goodbye", ["gives the hotline number", "hangs up"], "end", depth))
        chart.edges.append((line.start, "goodbye", given_up))
    add(
        Box(
            "connected",
            "advocate answered",
            ["when it ends: the privacy tip", "(once a call), thanks, hang up"],
            "end",
            depth + 1,
        )
    )
    add(
        Box(
            "not_connected",
            "busy, no answer, failed",
            [
                "the number twice, the 911 advice,",
                "text and chat; 0 tries again;",
                f"after {line.wait.retry} s: the main menu",
                "(after silent tries: goodbye)",
            ],
            "menu",
            depth + 1,
        )
    )
    chart.edges.append(("hotline", "connected", "completed"))
    chart.edges.append(("hotline", "not_connected", "busy / no-answer / failed / canceled"))
    chart.edges.append(("not_connected", "hotline", f"{hotline.key}: again"))
    chart.boxes["call"].row = 0
    return chart


def _clip(text: str, width: int) -> str:
    return f"“{text[: width - 1]}…”" if len(text) > width else f"“{text}”"


LANE_SPACE = 260  # room at the right for arrows that skip rows, and their labels


def _layout(chart: Flowchart) -> tuple[float, float]:
    rows: dict[int, list[Box]] = {}
    for box in chart.boxes.values():
        rows.setdefault(box.row, []).append(box)
    widest = max(len(r) for r in rows.values())
    width = 2 * MARGIN + widest * BOX_WIDTH + (widest - 1) * GAP_X + LANE_SPACE
    y = MARGIN
    for number in sorted(rows):
        boxes = rows[number]
        span = len(boxes) * BOX_WIDTH + (len(boxes) - 1) * GAP_X
        x = (width - LANE_SPACE - span) / 2
        for box in boxes:
            box.x, box.y = x, y
            x += BOX_WIDTH + GAP_X
        y += max(b.height for b in boxes) + GAP_Y
    return width, y - GAP_Y + MARGIN


_FILL = {
    "start": "#e8f1fb",
    "menu": "#fff7e0",
    "section": "#eef7ea",
    "transfer": "#fde8e8",
    "end": "#f0f0f0",
}


def to_svg(chart: Flowchart) -> str:
    width, height = _layout(chart)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">',
        "<title>Call flow of the line</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    lanes = 0
    right = max(b.x + BOX_WIDTH for b in chart.boxes.values())
    all_lanes = sum(chart.boxes[t].row - chart.boxes[s].row > 1 for s, t, _ in chart.edges)
    for source, target, label in chart.edges:
        a, b = chart.boxes[source], chart.boxes[target]
        if b.row - a.row > 1:
            # Skips a row: around the right-hand side, so it crosses no box.
            lane = right + 20 + lanes * 14
            y1, y2 = a.y + a.height / 2 + lanes * 12, b.y + b.height / 2 + lanes * 12
            lanes += 1
            points = f"{a.x + BOX_WIDTH},{y1:.0f} {lane:.0f},{y1:.0f} {lane:.0f},{y2:.0f} "
            points += f"{b.x + BOX_WIDTH},{y2:.0f}"
            lx, ly, anchor = right + 26 + all_lanes * 14, y1 + 4, "start"
        elif b.row < a.row:
            # Back up a row: out of the right-hand side and into the target's.
            x1, y1 = a.x + BOX_WIDTH, a.y + a.height / 2
            x2, y2 = b.x + BOX_WIDTH, b.y + b.height - 8  # below the arrows from above
            turn = x1 + 20
            points = f"{x1:.0f},{y1:.0f} {turn:.0f},{y1:.0f} {turn:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly, anchor = turn + 6, (y1 + y2) / 2 + 4, "start"
        else:
            x1, y1 = a.x + BOX_WIDTH / 2, a.y + a.height
            x2, y2 = b.x + BOX_WIDTH / 2, b.y
            points = f"{x1:.0f},{y1:.0f} {x2:.0f},{y2:.0f}"
            lx, ly, anchor = (x1 + x2) / 2, (y1 + y2) / 2 + 4, "middle"
        out.append(
            f'<polyline points="{points}" fill="none" stroke="#555" marker-end="url(#arrow)"/>'
        )
        if label:
            out.append(
                f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" fill="#222" '
                f'stroke="white" stroke-width="3" paint-order="stroke">{escape(label)}</text>'
            )
    for box in chart.boxes.values():
        out.append(
            f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{BOX_WIDTH}" height="{box.height}" '
            f'rx="6" fill="{_FILL[box.style]}" stroke="#777"/>'
        )
        out.append(
            f'<text x="{box.x + 10:.0f}" y="{box.y + 20:.0f}" font-weight="bold">'
            f"{escape(box.title)}</text>"
        )
        for index, text in enumerate(box.lines, start=1):
            out.append(
                f'<text x="{box.x + 10:.0f}" y="{box.y + 20 + index * LINE_HEIGHT:.0f}">'
                f"{escape(text)}</text>"
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_mermaid(chart: Flowchart) -> str:
    out = ["flowchart TD"]
    for box in chart.boxes.values():
        text = "<br/>".join([box.title, *box.lines]).replace('"', "'")
        out.append(f'    {box.id}["{text}"]')
    for source, target, label in chart.edges:
        arrow = f' -- "{label}" --> ' if label else " --> "
        out.append(f"    {source}{arrow}{target}")
    return "\n".join(out) + "\n"
