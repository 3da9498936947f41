"""Reading the staff's YAML files so that every error can name a file and a line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# "#" starts a comment in YAML, so an unquoted key "#:" silently vanishes.
_COMMENTED_KEY = re.compile(r"^\s*#\s*:")


def shown(path: Path) -> str:
    """A path as staff would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class ConfigError(Exception):
    """A problem in a staff-edited file, located to the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{shown(self.path)}:{self.line}" if self.line else shown(self.path)
        return f"{where}: {self.message}"


@dataclass
class YamlFile:
    """A parsed YAML file with the line of every mapping key and list item."""

    path: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Path_, message: str) -> ConfigError:
        return ConfigError(self.path, self.line(path), message)


def read_text(path: Path) -> str:
    """A staff-edited file's text, or ConfigError saying what is wrong with it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def load_yaml(path: Path) -> YamlFile:
    """Parse `path` with `yaml.safe_load`, or raise ConfigError naming the line."""
    text = read_text(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if _COMMENTED_KEY.match(line):
            raise ConfigError(
                path, number, 'YAML reads "#:" as a comment; write the key in quotes: "#":'
            )
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        hint = ' (keys "*" and "#" must be written in quotes)' if "alias" in str(exc) else ""
        raise ConfigError(
            path, mark.line + 1 if mark else None, f"YAML syntax: {exc.problem}{hint}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"YAML syntax: {exc}") from None
    lines: dict[Path_, int] = {}
    if root is not None:
        lines[()] = root.start_mark.line + 1
        _index(path, root, (), lines)
    return YamlFile(path, data, lines)


def _index(file: Path, node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    file, line, f"{key!r} is given twice (first on line {seen[key]}); keep one"
                )
            seen[key] = line
            lines[(*at, key)] = line
            _index(file, value_node, (*at, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*at, index)] = item.start_mark.line + 1
            _index(file, item, (*at, index), lines)
