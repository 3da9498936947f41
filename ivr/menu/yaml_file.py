"""Reading the staff's YAML files so that every error can name a file and a line."""

from __future__ import annotations

import re
from collections.abc import Iterator
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
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        at, said = plain_words(exc, text)
        raise ConfigError(path, at, f"YAML syntax: {said}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"YAML syntax: {exc}") from None
    lines: dict[KeyPath, int] = {}
    if root is not None:
        lines[()] = root.start_mark.line + 1
        _index(path, root, (), lines)
    return YamlFile(path, data, lines)


_INDENTING = (
    "check the indentation: keys of one mapping, and the items of one list, start in the same "
    "column, two spaces further in than what they belong to"
)
_UNCLOSED = "a quote opened on this line is never closed on it; end the value with the same quote"
_QUOTE_IT = 'put the whole value in quotes ("…"), and write a " inside it as \\"'
_NO_COLON = "a key without its colon: write it as key: value"
_NO_SPACE = "put a space after the colon: key: value"
_TOO_FAR = (
    "this line is indented further than the line above, which already has a value; indent "
    "it like the line above"
)


def plain_words(error: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """The line where a YAML syntax error was made, and what is wrong there, in plain words.

    PyYAML often notices a mistake on the line after it (a key without its colon runs on
    into the next line), and names it in the parser's words ("expected <block end>"); this
    names the usual causes (indentation, a missing colon, a tab, a quote) at the line to fix.
    """
    source = _Lines(text)
    problem, context = error.problem or "", error.context or ""
    at = error.problem_mark.line if error.problem_mark else None
    context_at = error.context_mark.line if error.context_mark else None
    column = error.problem_mark.column if error.problem_mark else 0
    found: tuple[int | None, str]
    if "'\\t'" in problem:
        found = at, "a tab; YAML indents with spaces only: replace the tab with spaces"
    elif "alias" in context:
        found = at, 'keys "*" and "#" must be written in quotes: "*":'
    elif "cannot start any token" in problem:
        character = problem.split("'")[1] if "'" in problem else "that character"
        found = at, f"a value cannot start with {character}; put it in quotes"
    elif "quoted scalar" in context:
        found = context_at, _UNCLOSED
    elif "flow sequence" in context or "flow mapping" in context:
        opener, closer = ("[", "]") if "sequence" in context else ("{", "}")
        found = (
            context_at,
            f"a {opener} opened on this line is not closed with {closer} on it; close it, or, "
            "if the value is text, put it in quotes",
        )
    elif "could not find expected ':'" in problem and context_at is not None:
        found = context_at, source.no_colon(context_at)
    elif "mapping values are not allowed" in problem and at is not None:
        found = source.colon_misplaced(at, column)
    elif (opened := _quote_running_on(text, at)) is not None:
        found = opened, _UNCLOSED
    elif at is not None and ("expected <block end>" in problem or "did not find" in problem):
        found = source.misaligned(at, column, "<scalar>" in problem)
    else:
        found = at if at is not None else context_at, problem
    line, said = found
    return (line + 1 if line is not None else None), said


class _Lines:
    """The lines of a YAML file, as an error's explanation looks at them (counted from 0)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def __getitem__(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    def before(self, index: int) -> int | None:
        """The nearest line above with something on it besides a comment."""
        for earlier in range(index - 1, -1, -1):
            if self[earlier].strip() and not self[earlier].lstrip().startswith("#"):
                return earlier
        return None

    def indent(self, index: int) -> int:
        return len(self[index]) - len(self[index].lstrip(" "))

    def said(self, index: int) -> str:
        """The line without its indentation, a list's dash, or a comment."""
        return self[index].split(" #")[0].strip().removeprefix("- ")

    def no_colon(self, index: int) -> str:
        """A line read as a key, with no colon after it."""
        said = self.said(index)
        if ":" in said and ": " not in said and not said.endswith(":"):
            return _NO_SPACE
        above = self.before(index)
        in_list = above is not None and self[above].lstrip().startswith("- ")
        return (
            f"{_NO_COLON}; "
            + (
                "or, if it is an item of the list above, start it with - like the others; "
                if in_list
                else ""
            )
            + "or, if it goes on with the text above, indent it like that text"
        )

    def colon_misplaced(self, index: int, column: int) -> tuple[int, str]:
        """A colon where YAML allows none: in a value, or after a line that ran on into it."""
        head = self[index][:column]
        if ": " in head.strip() or head.rstrip().endswith(":"):
            return index, f"a colon followed by a space inside a value; {_QUOTE_IT}"
        above = self.before(index)
        if above is not None:
            said = self.said(above)
            if ":" not in said and not said.startswith(("'", '"', "[", "{")):
                return above, f"{_NO_COLON} (the next line is read as going on with this one)"
            if ":" in said and ": " not in said and not said.endswith(":"):
                return above, _NO_SPACE
            if self.indent(index) > self.indent(above) and not said.endswith(":"):
                return index, _TOO_FAR
        return index, f"a colon in the wrong place; {_INDENTING}"

    def misaligned(self, index: int, column: int, scalar: bool) -> tuple[int, str]:
        """A line that fits no mapping or list above it."""
        above = self.before(index)
        if scalar and self[index][column : column + 1] not in ("'", '"'):
            if above is not None and (self[above].count('"') % 2 or self[above].count("'") % 2):
                return above, _UNCLOSED
            if self[index][:column].rstrip()[-1:] in ("'", '"', "]", "}"):
                return index, f"more text after a closing quote or bracket; {_QUOTE_IT}"
        if above is not None and self.indent(index) > self.indent(above):
            value_above = self[above].split(" #")[0].split(": ", 1)[1:]
            if value_above and value_above[0].strip():
                return index, _TOO_FAR
        return index, f"this line does not line up with the lines above; {_INDENTING}"


def _quote_running_on(text: str, error_at: int | None) -> int | None:
    """The line of a quoted value that runs on over lines up to the error, if one does: a
    quote never closed ends only at the next quote mark, lines further on."""
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            quoted = isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
            if quoted and token.end_mark.line > token.start_mark.line:
                last = token.start_mark.line
    except yaml.YAMLError:
        pass
    return last if last is not None and (error_at is None or last <= error_at) else None


# libyaml's parser, where PyYAML was built with it: the events and the nodes with their lines
# cost a tenth of the pure-Python parser's time, and every server start reads every file.
# Its error messages differ from PyYAML's, which plain_words knows: on an error, the file is
# parsed again by PyYAML, to say what is wrong in its words.
_FAST_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    return node


def _check_shape(path: Path, text: str) -> None:
    """Refuse aliases and deep nesting before anything is built from the text.

    An alias repeats a value by reference: a few lines of them can stand for billions of
    values, and staff files never need one. Deep nesting would exhaust the recursion that
    builds the values. Both are found from the parser's events, which cost nothing to list.
    """
    try:
        _check_events(path, yaml.parse(text, Loader=_FAST_LOADER))
    except yaml.YAMLError:
        _check_events(path, yaml.parse(text, Loader=yaml.SafeLoader))


def _check_events(path: Path, events: Iterator[yaml.Event]) -> None:
    """Each event as it is parsed: a bomb is refused at its first alias, not once it is read."""
    depth = 0
    for event in events:
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
