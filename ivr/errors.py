"""The one error type for staff-edited files, and how a place in a file is written: path:line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def shown(path: Path) -> str:
    """A path as staff would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Where:
    """A place in a file, written `path:line` as editors and terminals link it."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{shown(self.path)}:{self.line}" if self.line else shown(self.path)


class ConfigError(Exception):
    """A problem in a file staff edit or drop in (YAML, text, JSON, audio), located to the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.where = Where(Path(path), line)
        self.path = self.where.path
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"
