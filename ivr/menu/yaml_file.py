"""Reading the staff's YAML files so that every error can name a file and a line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.errors import ConfigError

KeyPath = tuple[str | int, ...]  # keys and list indexes from the top of a YAML file

# "#" starts a comment in YAML, so an unquoted key "#:" silently vanishes.
_COMMENTED_KEY = re.compile(r"^\s*#\s*:")


@dataclass
class YamlFile:
    """A parsed YAML file with the line of every mapping key and list item."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(self.path, self.line(path), message)


# Far more than any real menu, guide or manifest; a file past these is a mistake or an attack.
MAX_BYTES = 512 * 1024
MAX_DEPTH = 32


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A staff-edited file's text, or ConfigError saying what is wrong with it."""
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, None, "is a folder; it should be a file") from None
    except PermissionError:
        raise ConfigError(path, None, "cannot be read; check its permissions") from None
    if len(data) > max_bytes:
        raise ConfigError(path, None, f"is larger than {max_bytes // 1024} KiB; is it the file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(path, line, f"not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def load_yaml(path: Path) -> YamlFile:
    """Parse `path` with `yaml.safe_load`, or raise ConfigError naming the line."""
    text = read_text(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if _COMMENTED_KEY.match(line):
            raise ConfigError(
                path, number, 'YAML reads "#:" as a comment; write the key in quotes: "#":'
            )
    try:
        _check_shape(path, text)
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
    lines: dict[KeyPath, int] = {}
    if root is not None:
        lines[()] = root.start_mark.line + 1
        _index(path, root, (), lines)
    return YamlFile(path, data, lines)


def _check_shape(path: Path, text: str) -> None:
    """Refuse aliases and deep nesting before anything is built from the text.

    An alias repeats a value by reference: a few lines of them can stand for billions of
    values, and staff files never need one. Deep nesting would exhaust the recursion that
    builds the values. Both are found from the parser's events, which cost nothing to list.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            raise ConfigError(
                path,
                line,
                f"YAML alias *{event.anchor} is not allowed here; write the value out "
                '(keys "*" and "#" must be written in quotes)',
            )
        anchor = getattr(event, "anchor", None)
        if anchor:
            raise ConfigError(path, line, f"YAML anchor &{anchor} is not allowed here")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(path, line, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _index(file: Path, node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int]) -> None:
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
