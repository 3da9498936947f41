"""The usage report: full UTC days only, each small count hidden behind "fewer than N".

A count of a few calls on a known day can point at one person ("the only Spanish-speaking
caller on 3 March asked for an advocate"), so every count under the threshold is shown as
"fewer than N", in each day's row and in the totals alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape

from ivr.call import counts as c
from ivr.menu.model import PhoneLine
from ivr.web.usage_store import Days

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return f"{self.first} to {self.last}"


def period(today: date, month: str | None = None, days: int = DEFAULT_DAYS) -> Period | None:
    """The full days to report on `today`: the last `days`, or those of `month` (YYYY-MM).
    None when no day of the month has ended yet."""
    yesterday = today - timedelta(1)
    if month is None:
        return Period(yesterday - timedelta(days - 1), yesterday)
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    after = date(year + number // 12, number % 12 + 1, 1)
    last = min(after - timedelta(1), yesterday)
    return Period(first, last) if first <= last else None


def counters(line: PhoneLine, found: Iterable[str] = ()) -> list[str]:
    """Every counter, in the report's order; any other name found in the store at the end."""
    names = [
        c.CALLS,
        *(c.language(code) for code in line.languages),
        c.BY_KEYS,
        c.BY_SPEECH,
        c.MORE_TIME,
        *(
            name
            for section in line.sections
            for name in (c.section_entered(section), c.section_finished(section))
        ),
        c.TRANSFER_ASKED,
        c.TRANSFER_SILENT,
        c.TRANSFER_COMPLETED,
        c.TRANSFER_BUSY,
        c.TRANSFER_NO_ANSWER,
        c.TRANSFER_FAILED,
        c.TRANSFER_CANCELED,
        c.GOODBYE,
        c.ERROR,
        c.FALLBACK,
        c.REFUSED,
    ]
    return names + sorted(set(found) - set(names))


def label(name: str) -> str:
    """What a counter counts, in words."""
    fixed = {
        c.CALLS: "calls answered",
        c.BY_KEYS: "first choice made with a key",
        c.BY_SPEECH: "first choice made by speech",
        c.MORE_TIME: "more time asked for",
        c.TRANSFER_ASKED: "transfers asked for",
        c.TRANSFER_SILENT: "put through after silence or wrong keys",
        c.TRANSFER_COMPLETED: "transfers: completed",
        c.TRANSFER_BUSY: "transfers: busy",
        c.TRANSFER_NO_ANSWER: "transfers: no answer",
        c.TRANSFER_FAILED: "transfers: failed",
        c.TRANSFER_CANCELED: "transfers: caller hung up while ringing",
        c.GOODBYE: "calls the line ended with goodbye",
        c.ERROR: "errors (caller sent to the hotline)",
        c.FALLBACK: "Fallback URL used",
        c.REFUSED: "requests refused (signature)",
    }
    if name in fixed:
        return fixed[name]
    kind, _, rest = name.partition(".")
    if kind == "language":
        return f"language chosen: {rest}"
    if kind == "section":
        section, _, what = rest.rpartition(".")
        return f"section {section}: " + ("entered" if what == "entered" else "heard to the end")
    return name


def shown(count: int, min_count: int) -> str:
    """`count`, or "fewer than `min_count`" (a threshold of 1 hides nothing: 0 is 0)."""
    return str(count) if count >= min_count or min_count == 1 else f"fewer than {min_count}"


@dataclass(frozen=True)
class Report:
    period: Period
    names: list[str]
    by_day: dict[date, dict[str, int]]
    totals: dict[str, int]
    min_count: int

    def cell(self, day: date | None, name: str) -> str:
        if day is None:
            return self.total(name)[1]
        return shown(self.by_day[day].get(name, 0), self.min_count)

    def total(self, name: str) -> tuple[int, str]:
        """The period's total as it may be shown: the figure, and its words.

        A total over days with a hidden count is rounded to the threshold ("about 730"):
        exact, it would give away the hidden count, as the total minus the days shown.
        """
        count, step = self.totals.get(name, 0), self.min_count
        hides = step > 1 and any(v.get(name, 0) < step for v in self.by_day.values())
        if not hides or count < step:
            return count, shown(count, step)
        rounded = round(count / step) * step
        return rounded, f"about {rounded}"


def build(line: PhoneLine, stored: Days, when: Period, min_count: int) -> Report:
    by_day = {day: dict(stored.get(day.isoformat(), {})) for day in when.days}
    totals: dict[str, int] = {}
    for values in by_day.values():
        for name, count in values.items():
            totals[name] = totals.get(name, 0) + count
    return Report(when, counters(line, totals), by_day, totals, min_count)


def day_columns(line: PhoneLine) -> list[tuple[str, str]]:
    """The columns of each day's row: (header, counter)."""
    return [
        ("calls", c.CALLS),
        *((code, c.language(code)) for code in line.languages),
        ("advocate", c.TRANSFER_ASKED),
        ("completed", c.TRANSFER_COMPLETED),
        ("busy", c.TRANSFER_BUSY),
        ("no answer", c.TRANSFER_NO_ANSWER),
        ("failed", c.TRANSFER_FAILED),
    ]


def text(report: Report, line: PhoneLine) -> str:
    """The report as printed: a row per day, then every counter's total."""
    columns = day_columns(line)
    width = max(len(shown(0, report.min_count)), *(len(h) for h, _ in columns)) + 2
    rows = [
        f"Usage of the line, {report.period} (UTC days). "
        f'Counts under {report.min_count} are shown as "fewer than {report.min_count}".',
        "",
        "day".ljust(12) + "".join(h.ljust(width) for h, _ in columns).rstrip(),
    ]
    for day in report.period.days:
        cells = "".join(report.cell(day, name).ljust(width) for _, name in columns)
        rows.append(day.isoformat().ljust(12) + cells.rstrip())
    cells = "".join(report.cell(None, name).ljust(width) for _, name in columns)
    rows += [
        "total".ljust(12) + cells.rstrip(),
        "(advocate: transfers asked for; then the outcome of each number rung)",
        "",
        f"Totals, {report.period}:",
    ]
    size = max(len(label(name)) for name in report.names) + 2
    rows += [f"  {label(name).ljust(size)}{report.cell(None, name)}" for name in report.names]
    return "\n".join(rows) + "\n"


def as_csv(report: Report) -> str:
    """A row per day and a total row, a column per counter: for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", *report.names])
    for day in report.period.days:
        writer.writerow([day.isoformat(), *(report.cell(day, n) for n in report.names)])
    writer.writerow(["total", *(report.cell(None, n) for n in report.names)])
    return out.getvalue()


# --- the chart --------------------------------------------------------------------------------

_OUTCOMES = [
    ("completed", c.TRANSFER_COMPLETED, "#2e7d32"),
    ("busy", c.TRANSFER_BUSY, "#ef6c00"),
    ("no answer", c.TRANSFER_NO_ANSWER, "#8d6e63"),
    ("failed", c.TRANSFER_FAILED, "#c62828"),
]
_FONT = 'font-family="sans-serif" font-size="12" fill="#222"'
_HEADING = 'font-family="sans-serif" font-size="16" font-weight="bold" fill="#222"'


def svg(report: Report) -> str:
    """Calls a day as bars, then the period's transfer outcomes: hidden counts drawn as such."""
    days = report.period.days
    least = report.min_count
    width, left, top, plot_h = 760, 56, 48, 220
    step = (width - left - 20) / max(1, len(days))
    calls = [report.by_day[day].get(c.CALLS, 0) for day in days]
    # A hidden count is drawn up to the threshold: it is known to be below it, no more.
    heights = [n if n >= least else least for n in calls]
    scale_top = _nice(max([*heights, least]))
    parts = [
        f'<text x="{left}" y="24" {_HEADING}>Calls a day, {report.period}</text>',
        f'<text x="{left}" y="40" {_FONT}>UTC days. A dashed bar: fewer than {least} calls '
        "(the exact count is not shown).</text>",
    ]
    for tick in range(0, scale_top + 1, _tick(scale_top)):
        y = top + plot_h - tick * plot_h / scale_top
        parts.append(
            f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" {_FONT} text-anchor="end">{tick}</text>'
        )
    for index, (day, count, height) in enumerate(zip(days, calls, heights, strict=True)):
        x = left + index * step + step * 0.15
        h = height * plot_h / scale_top
        y = top + plot_h - h
        style = (
            'fill="#1565c0"'
            if count >= least
            else 'fill="none" stroke="#1565c0" stroke-dasharray="3 2"'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" {style}>'
            f"<title>{day}: {escape(shown(count, least))} calls</title></rect>"
        )
        if index % max(1, len(days) // 10) == 0 or index == len(days) - 1:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{top + plot_h + 16}" {_FONT} '
                f'text-anchor="middle">{day.strftime("%d %b")}</text>'
            )
    outcomes_top = top + plot_h + 60
    parts.append(
        f'<text x="{left}" y="{outcomes_top}" {_HEADING}>'
        "Transfers to the hotline, by outcome of the number rung</text>"
    )
    totals = [report.total(name) for _, name, _ in _OUTCOMES]
    values = [value for value, _ in totals]
    outcome_top = _nice(max([*values, least]))
    bar_w = width - left - 220
    for index, ((name, _, colour), (value, words)) in enumerate(
        zip(_OUTCOMES, totals, strict=True)
    ):
        y = outcomes_top + 16 + index * 28
        drawn = max(value, least) if value < least else value
        w = drawn * bar_w / outcome_top
        style = (
            f'fill="{colour}"'
            if value >= least
            else f'fill="none" stroke="{colour}" stroke-dasharray="3 2"'
        )
        parts.append(
            f'<text x="{left + 84}" y="{y + 15}" {_FONT} text-anchor="end">{name}</text>'
            f'<rect x="{left + 92}" y="{y}" width="{w:.1f}" height="20" {style}/>'
            f'<text x="{left + 100 + w:.1f}" y="{y + 15}" {_FONT}>'
            f"{escape(words)}</text>"
        )
    height = outcomes_top + 16 + len(_OUTCOMES) * 28 + 16
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
        f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(parts) + "</svg>\n"
    )


def _tick(top: int) -> int:
    return top // (4 if str(top).startswith("2") else 5)


def _nice(value: int) -> int:
    """A round top for an axis: 10, 20, 50, 100, 200 ..."""
    top = 10
    while top < value:
        top = top * 5 // 2 if str(top).startswith("2") else top * 2
    return top
