"""Build the validated PhoneLine from prompts/: menu.yaml, one YAML file per language, documents."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ivr.errors import ConfigError, Where
from ivr.menu.document import Passage, passages_fingerprint, read_document
from ivr.menu.model import (
    EVERY_SECTION,
    KEYS,
    REPEAT,
    SECTION_ACTIONS,
    SPOKEN_ACTIONS,
    SYSTEM_PROMPTS,
    Backup,
    Hotline,
    Language,
    Menu,
    MoreTime,
    NoInput,
    NotSpoken,
    PhoneLine,
    Prompt,
    Section,
    SectionKeys,
    SpokenForm,
    WaitSeconds,
)
from ivr.menu.say_voices import language_problem, voice_problem
from ivr.menu.spoken_forms import SpokenForms, join_passages
from ivr.menu.words import words_of
from ivr.menu.yaml_file import KeyPath, YamlFile, load_yaml

_MISSING = object()
PLACEHOLDER_TTS = ("piper", "espeak-ng", "none")
_TYPE_NAMES = {str: "a text", int: "a whole number", dict: "a mapping", list: "a list"}


class _Reader:
    """Typed access to a YamlFile; every failure is a ConfigError at the right line."""

    def __init__(self, file: YamlFile) -> None:
        self.file = file
        self.read: set[KeyPath] = set()  # every setting the line looked for, found or not

    def where(self, path: KeyPath) -> Where:
        return Where(self.file.path, self.file.line(path))

    def error(self, path: KeyPath, message: str) -> ConfigError:
        return self.file.error(path, message)

    def no_unknown_keys(self) -> None:
        """A key the line never looked for is a mistake, like `triez:` for `tries:`.

        Call it once everything is read; the error names the closest key the line knows.
        """
        known = {read[:size] for read in self.read for size in range(1, len(read) + 1)}
        for path in self.file.lines:
            if not path or not isinstance(path[-1], str) or path in known:
                continue
            size = len(path)
            parent = path[:-1]
            names = sorted(
                {str(r[size - 1]) for r in self.read if len(r) >= size and r[: size - 1] == parent}
            )
            where = f" under {'.'.join(map(str, parent))}" if parent else ""
            raise self.error(
                path, f"unknown setting {path[-1]!r}{where}; {closest(str(path[-1]), names)}"
            )

    def get(self, path: KeyPath, kind: type, default: Any = _MISSING) -> Any:
        self.read.add(path)
        value: Any = self.file.data
        for step in path:
            in_dict = isinstance(value, dict) and step in value
            in_list = isinstance(value, list) and isinstance(step, int) and step < len(value)
            if in_dict or in_list:
                value = value[step]
            elif isinstance(value, dict) and any(str(k) == step for k in value):
                # YAML read `3:` as the number 3, not the key "3".
                raise self.error(
                    path,
                    f'write the key {step} in quotes, "{step}": (unquoted, YAML reads it as '
                    "a number, not a key)",
                )
            elif default is not _MISSING:
                return default
            else:
                name = ".".join(str(s) for s in path)
                raise self.error(path[:-1], f"missing {name!r}; add it")
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # YAML reads an unquoted 0 or 1 as a number
        if value is None and default is not _MISSING:
            return default
        if not isinstance(value, kind) or isinstance(value, bool):
            name = ".".join(str(s) for s in path)
            raise self.error(path, f"{name!r} should be {_TYPE_NAMES[kind]}, not {value!r}")
        return value

    def number(self, path: KeyPath, default: int, low: int, high: int) -> int:
        value: int = self.get(path, int, default)
        if not low <= value <= high:
            name = ".".join(str(s) for s in path)
            raise self.error(path, f"{name!r} should be from {low} to {high}, not {value}")
        return value

    def phone_number(self, path: KeyPath) -> str:
        value: str = self.get(path, str)
        if not (value.startswith("+") and value[1:].isdigit()):
            raise self.error(path, "write the number in E.164 form, like +18663319474")
        return value

    def key(self, path: KeyPath, default: str | None = None) -> str:
        value = self.get(path, str, _MISSING if default is None else default)
        return self.check_key(path, value)

    def check_key(self, path: KeyPath, value: str) -> str:
        if len(value) != 1 or value not in KEYS:
            raise self.error(path, f'{value!r} is not a phone key; use one of 0-9, "*" or "#"')
        return value


def load_line(prompts_dir: Path) -> PhoneLine:
    """Read and validate everything in `prompts_dir`; raise ConfigError on the first problem."""
    menu = _Reader(load_yaml(prompts_dir / "menu.yaml"))
    if not isinstance(menu.file.data, dict):
        raise menu.error((), "menu.yaml should be a mapping of settings, menus and sections")

    hotline = Hotline(
        key=menu.key(("hotline", "key"), "0"),
        number=menu.phone_number(("hotline", "number")),
        ring_seconds=menu.number(("hotline", "ring_seconds"), 30, 5, 120),
        backups=tuple(
            Backup(
                number=menu.phone_number(("hotline", "backups", i, "number")),
                ring_seconds=menu.number(("hotline", "backups", i, "ring_seconds"), 30, 5, 120),
                prompt=menu.get(("hotline", "backups", i, "say"), str),
            )
            for i in range(len(menu.get(("hotline", "backups"), list, [])))
        ),
        key_where=menu.where(("hotline", "key")),
    )
    wait = WaitSeconds(
        menu=menu.number(("wait_seconds", "menu"), 7, 1, 60),
        point=menu.number(("wait_seconds", "point"), 3, 1, 60),
        retry=menu.number(("wait_seconds", "retry"), 5, 1, 60),
    )
    then = menu.get(("no_input", "then"), str, "transfer")
    if then not in ("transfer", "goodbye"):
        raise menu.error(
            ("no_input", "then"), f"'then' should be transfer or goodbye, not {then!r}"
        )
    no_input = NoInput(
        tries=menu.number(("no_input", "tries"), 3, 1, 10),
        then=then,
        silent_caller=menu.number(("no_input", "silent_caller"), 0, 0, 10),
    )
    actions = {action: menu.key(("section_keys", action)) for action in SECTION_ACTIONS}
    section_keys = SectionKeys(
        **actions,
        where=menu.where(("section_keys",)),
        key_where=MappingProxyType(
            {key: menu.where(("section_keys", action)) for action, key in actions.items()}
        ),
    )
    section_settings: list[_Setting] = [
        (key, ("section_keys", action), action.replace("_", " ")) for action, key in actions.items()
    ]
    _unique_keys(menu, section_settings, hotline.key)

    menus = _menus(menu, hotline.key)
    sections = _sections(menu)
    for clash in set(menus) & set(sections):
        raise menu.error(
            ("sections", clash), f"{clash!r} names both a menu and a section; rename one"
        )
    start = menu.get(("start",), str, "main")
    if start not in menus:
        raise menu.error(
            ("start",), f"start menu {start!r} is not under 'menus'; {closest(start, [*menus])}"
        )
    for menu_id, m in menus.items():
        for key, target in m.keys.items():
            if target != REPEAT and target not in menus and target not in sections:
                raise menu.error(
                    ("menus", menu_id, "keys", key),
                    f"key {key} goes to {target!r}, which is no menu or section; "
                    + closest(target, [*menus, *sections, REPEAT]),
                )

    more_time = MoreTime(
        key=menu.key(("more_time", "key"), "#"),
        factor=menu.number(("more_time", "factor"), 2, 2, 5),
        key_where=menu.where(("more_time", "key")),
    )
    switch_keys = _switch_keys(menu)
    # Keys that act in the same place must differ.
    more: _Setting = (more_time.key, ("more_time", "key"), "more time")
    _unique_keys(menu, [*section_settings, more], hotline.key)
    for menu_id, m in menus.items():
        menu_settings: list[_Setting] = [
            (key, ("menus", menu_id, "keys", key), f"{target} in menu {menu_id!r}")
            for key, target in m.keys.items()
        ]
        switches: list[_Setting] = [
            (key, ("languages", code, "key"), f"the call in {code}")
            for code, key in switch_keys.items()
        ]
        _unique_keys(
            menu, [*menu_settings, more, *(switches if menu_id == start else [])], hotline.key
        )

    languages = {
        code: replace(
            _language(prompts_dir, code, key, menus, sections, switch_keys),
            switch_key_where=menu.where(("languages", code, "key")) if key else None,
        )
        for code, key in {**{c: None for c in _language_codes(menu)}, **switch_keys}.items()
    }
    _prompt_ids_agree(_prompts_used(menu, menus, sections, hotline), languages)
    codes = list(languages)
    unspoken = _unspoken_keys(menu, menus, sections)
    menu.no_unknown_keys()
    return PhoneLine(
        start=start,
        hotline=hotline,
        wait=wait,
        more_time=more_time,
        no_input=no_input,
        section_keys=section_keys,
        menus=MappingProxyType(menus),
        sections=MappingProxyType(sections),
        languages=MappingProxyType(languages),
        default_language=codes[0],
        unspoken_keys=unspoken,
    )


def _prompts_used(
    menu: _Reader, menus: dict[str, Menu], sections: dict[str, Section], hotline: Hotline
) -> dict[str, Where]:
    """Each prompt id menu.yaml names, and the line that names it first."""
    used: dict[str, Where] = {}
    for menu_id, m in menus.items():
        used.setdefault(m.prompt, menu.where(("menus", menu_id, "prompt")))
    for section_id, section in sections.items():
        for index, point in enumerate(section.points):
            used.setdefault(point, menu.where(("sections", section_id, "points", index)))
    for index, backup in enumerate(hotline.backups):
        used.setdefault(backup.prompt, menu.where(("hotline", "backups", index, "say")))
    return used


def _prompt_ids_agree(used: dict[str, Where], languages: dict[str, Language]) -> None:
    """Every prompt menu.yaml names, and the line speaks itself, is in every language file, and
    nothing else is. A misspelt id is reported where it is misspelt: in menu.yaml when no
    language file has it, else in the language file that lacks it."""

    def needed(language: Language) -> dict[str, Where | None]:
        itself = [*SYSTEM_PROMPTS, *(["language_offer"] if language.switch_key else [])]
        return {**used, **{prompt_id: None for prompt_id in itself}}

    def unused(language: Language) -> list[str]:
        return [p for p in language.prompts if p not in needed(language)]

    files = " or ".join(f"{code}.yaml" for code in languages)
    for language in languages.values():
        for prompt_id, where in needed(language).items():
            if prompt_id in language.prompts:
                continue
            if where is not None and not any(
                prompt_id in lang.prompts for lang in languages.values()
            ):
                close = difflib.get_close_matches(prompt_id, list(language.prompts), n=1)
                raise ConfigError(
                    where.path,
                    where.line,
                    f"{prompt_id!r} is no prompt in {files}; "
                    + (
                        f"did you mean {close[0]!r} ({language.prompts[close[0]].where})?"
                        if close
                        else f"add it under prompts: in each ({language.prompts_where}, ...)"
                    ),
                )
            misspelt = difflib.get_close_matches(prompt_id, unused(language), n=1)
            if misspelt:
                mistake = language.prompts[misspelt[0]].where
                used_at = f"used at {where}" if where else "the line speaks it itself"
                raise ConfigError(
                    mistake.path,
                    mistake.line,
                    f"prompt {misspelt[0]!r} is used by no menu or section; did you mean "
                    f"{prompt_id!r} ({used_at})?",
                )
            used_at = f"used at {where}" if where else "the line speaks it itself"
            where_to = language.prompts_where or language.where
            raise ConfigError(
                where_to.path,
                where_to.line,
                f"prompt {prompt_id!r} is missing ({used_at}); add it here",
            )
    for language in languages.values():
        for prompt_id in unused(language):
            prompt = language.prompts[prompt_id]
            close = difflib.get_close_matches(prompt_id, list(needed(language)), n=1)
            raise ConfigError(
                prompt.where.path,
                prompt.where.line,
                f"prompt {prompt_id!r} is not used by any menu or section; "
                + (f"did you mean {close[0]!r}?" if close else "use it or remove it"),
            )


def _language_codes(menu: _Reader) -> list[str]:
    codes = menu.get(("languages",), dict, {"en": {}})
    if not codes:
        raise menu.error(("languages",), "name at least one language, like en: {}")
    for code in codes:
        menu.get(("languages", str(code)), dict, {})  # each a mapping, maybe empty
    return [str(code) for code in codes]


def _switch_keys(menu: _Reader) -> dict[str, str]:
    """Language -> the key that switches a call to it (the first language has none)."""
    codes = _language_codes(menu)
    keys = {}
    for code in codes[1:]:
        entry = menu.get(("languages", code), dict, {})
        if "key" not in entry:
            raise menu.error(("languages", code), f"give {code} a key: the greeting offers it")
        keys[code] = menu.key(("languages", code, "key"))
    return keys


_Setting = tuple[str, KeyPath, str]  # a key, where menu.yaml sets it, and what it does there


def _unique_keys(file: _Reader, settings: list[_Setting], hotline_key: str) -> None:
    """Keys that act in the same place must differ, and none may be the hotline's: the error
    stands at the later setting and names the earlier one's line, as either may be the edit."""
    seen: dict[str, _Setting] = {}
    for setting in settings:
        key, at, does = setting
        if key == hotline_key:
            raise file.error(
                at,
                f"key {key} is set for {does}, but it is the hotline key "
                f"({file.where(('hotline', 'key'))}); choose another key for one of them",
            )
        if key in seen:
            _, first_at, first_does = seen[key]
            raise file.error(
                at,
                f"key {key} is set for both {first_does} ({file.where(first_at)}) and {does}; "
                "each key does one thing: choose another key for one of them",
            )
        seen[key] = setting


def _menus(file: _Reader, hotline_key: str) -> dict[str, Menu]:
    menus = {}
    for menu_id in file.get(("menus",), dict):
        at = ("menus", str(menu_id))
        keys = {}
        for key in file.get((*at, "keys"), dict):
            key_at = (*at, "keys", str(key))
            key = file.check_key(key_at, str(key))
            if key == hotline_key:
                raise file.error(key_at, f"key {key} always reaches the hotline; remove it here")
            keys[key] = file.get(key_at, str)
        menus[str(menu_id)] = Menu(
            id=str(menu_id),
            prompt=file.get((*at, "prompt"), str),
            keys=MappingProxyType(keys),
            where=file.where(at),
            key_where=MappingProxyType({k: file.where((*at, "keys", k)) for k in keys}),
            keys_where=file.where((*at, "keys")),
        )
    if not menus:
        raise file.error(("menus",), "define at least one menu")
    return menus


def _unspoken_keys(
    file: _Reader, menus: dict[str, Menu], sections: dict[str, Section]
) -> MappingProxyType[str, MappingProxyType[str, Where]]:
    """unspoken_keys: menu or section id (or "sections", every section) -> keys no prompt
    there need name; whether each works there is for the check, which knows the call flow."""
    given = file.get(("unspoken_keys",), dict, {})
    places: dict[str, dict[str, Where]] = {}
    for place in given:
        at = ("unspoken_keys", str(place))
        if str(place) == EVERY_SECTION:
            ids = list(sections)
        elif str(place) in menus or str(place) in sections:
            ids = [str(place)]
        else:
            raise file.error(
                at,
                f"{place!r} is no menu or section; "
                + closest(str(place), [*menus, *sections, EVERY_SECTION]),
            )
        for index in range(len(file.get(at, list))):
            key = file.key((*at, index))
            for node in ids:
                places.setdefault(node, {})[key] = file.where((*at, index))
    return MappingProxyType({node: MappingProxyType(keys) for node, keys in places.items()})


def closest(name: str, known: list[str]) -> str:
    """ "did you mean 'police.arrest'?", or the names to choose from."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else f"use one of {sorted(known)}"


def _sections(file: _Reader) -> dict[str, Section]:
    sections = {}
    for section_id in file.get(("sections",), dict, {}):
        at = ("sections", str(section_id))
        points = file.get((*at, "points"), list)
        if not points:
            raise file.error(at, "a section needs at least one point")
        sections[str(section_id)] = Section(
            id=str(section_id),
            points=tuple(file.get((*at, "points", i), str) for i in range(len(points))),
            where=file.where(at),
        )
    return sections


def _language(
    prompts_dir: Path,
    code: str,
    switch_key: str | None,
    menus: dict[str, Menu],
    sections: dict[str, Section],
    switch_keys: dict[str, str],
) -> Language:
    file = _Reader(load_yaml(prompts_dir / f"{code}.yaml"))
    if not isinstance(file.file.data, dict):
        raise file.error((), f"{code}.yaml should be a mapping with language, voice and prompts")
    document = read_document(prompts_dir / file.get(("document",), str))
    written_forms = file.get(("spoken_forms",), dict, {})
    spoken_forms = {
        str(k): SpokenForm(
            str(k),
            file.get(("spoken_forms", str(k)), str).strip(),
            file.where(("spoken_forms", str(k))),
        )
        for k in written_forms
    }
    forms = SpokenForms({k: form.said for k, form in spoken_forms.items()})
    prompts = {}
    for prompt_id in file.get(("prompts",), dict):
        prompts[str(prompt_id)] = _prompt(file, str(prompt_id), document, forms)

    placeholder = file.get(("placeholder_tts",), str, "none")
    if placeholder not in PLACEHOLDER_TTS:
        raise file.error(
            ("placeholder_tts",),
            f"placeholder_tts should be one of {PLACEHOLDER_TTS}, not {placeholder!r}",
        )
    not_spoken = []
    for index, item in enumerate(file.get(("not_spoken",), list, [])):
        item_at = ("not_spoken", index)
        if not isinstance(item, dict):
            raise file.error(item_at, "each not_spoken entry needs passage: and why:")
        not_spoken.append(
            NotSpoken(
                excerpt=file.get((*item_at, "passage"), str),
                why=file.get((*item_at, "why"), str),
                where=file.where(item_at),
            )
        )
    needed_words = (
        {t for m in menus.values() for t in m.keys.values()}
        | set(SPOKEN_ACTIONS)
        | set(switch_keys)
    )
    allowed_words = needed_words | set(menus) | set(sections)
    fillers = frozenset(w for f in file.get(("filler_words",), list, []) for w in words_of(str(f)))
    words = _words(file, needed_words, allowed_words, fillers)
    keys = _keys(file, fillers)
    # How the line names an option when it asks which one was meant: by default, its first words.
    option_names = {
        option: file.get(("option_names", option), str, phrases[0]).strip()
        for option, phrases in words.items()
    }
    which_one = file.get(("which_one",), str).strip()
    for field in ("{options}", "{keys}"):
        if field not in which_one:
            raise file.error(("which_one",), f"which_one should say {field}, where it goes")
    say_code, voice = file.get(("language",), str), file.get(("voice",), str)
    if problem := language_problem(say_code):
        raise file.error(("language",), problem)
    if problem := voice_problem(voice, say_code):
        raise file.error(("voice",), problem)
    language = Language(
        id=code,
        code=say_code,
        voice=voice,
        placeholder_tts=placeholder,
        document=document,
        prompts=MappingProxyType(prompts),
        not_spoken=tuple(not_spoken),
        words=MappingProxyType(words),
        fillers=fillers,
        keys=MappingProxyType(keys),
        key_prefixes=tuple(
            dict.fromkeys(
                w for p in file.get(("key_prefixes",), list, []) for w in words_of(str(p), fillers)
            )
        ),
        option_names=MappingProxyType(option_names),
        which_one=which_one,
        or_word=file.get(("or",), str).strip(),
        spoken_forms=MappingProxyType(spoken_forms),
        switch_key=switch_key,
        where=file.where(()),
        prompts_where=file.where(("prompts",)),
        which_one_where=file.where(("which_one",)),
    )
    file.no_unknown_keys()
    return language


def _words(
    file: _Reader, needed: set[str], allowed: set[str], fillers: frozenset[str]
) -> dict[str, tuple[str, ...]]:
    """What a caller may say for each option; every option a key leads to needs a phrase."""
    given = file.get(("words",), dict)
    for option in sorted(needed - {str(o) for o in given}):
        raise file.error(("words",), f"say which words choose {option!r}: add {option}: [...]")
    words = {}
    for option in given:
        at = ("words", str(option))
        if str(option) not in allowed:
            raise file.error(at, f"{option!r} is no option; {closest(str(option), [*allowed])}")
        phrases = file.get(at, list)
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise file.error(at, f"list the words for {option!r}, like [police, the police]")
        for phrase in phrases:
            if not words_of(phrase, fillers):
                raise file.error(
                    at, f"{phrase!r} is only filler words; a caller could not choose it"
                )
        words[str(option)] = tuple(p.strip() for p in phrases)
    return words


def _keys(file: _Reader, fillers: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """How each phone key is said; every key needs at least one word."""
    given = file.get(("keys",), dict)
    keys = {}
    for key in KEYS:
        if key not in {str(k) for k in given}:
            raise file.error(("keys",), f'say how key {key} is said: add "{key}": [...]')
    for key in given:
        at = ("keys", str(key))
        file.check_key(at, str(key))
        phrases = file.get(at, list)
        if not phrases or not all(isinstance(p, str) and words_of(p, fillers) for p in phrases):
            raise file.error(at, f"list the words for key {key}, like [one]; not filler words")
        keys[str(key)] = tuple(p.strip() for p in phrases)
    return keys


def _prompt(file: _Reader, prompt_id: str, document: Any, forms: SpokenForms) -> Prompt:
    at = ("prompts", prompt_id)
    file.read.update({at, (*at, "passage")})  # its fields are checked below
    raw = file.file.data["prompts"][prompt_id]
    if isinstance(raw, str):
        return Prompt(prompt_id, forms.apply(raw.strip()), (), (), None, None, file.where(at))
    if not isinstance(raw, dict):
        raise file.error(at, f"prompt {prompt_id!r} should be a text or have text: or passage:")
    unknown = set(raw) - {"text", "passage", "written_for"}
    if unknown:
        raise file.error(at, f"unknown field(s) {sorted(unknown)}; use text, passage, written_for")

    excerpts = raw.get("passage", [])
    excerpts = [excerpts] if isinstance(excerpts, str) else excerpts
    passages: list[Passage] = []
    for index, excerpt in enumerate(excerpts):
        found = document.matching(excerpt) if isinstance(excerpt, str) and excerpt.strip() else []
        path = (*at, "passage", index) if isinstance(raw.get("passage"), list) else (*at, "passage")
        if len(found) != 1:
            problem = "is not the start of any" if not found else "starts more than one"
            raise file.error(
                path,
                f"passage {excerpt!r} {problem} sentence or bullet in {document.path.name}; "
                "quote the first words of exactly one",
            )
        passages.append(found[0])

    text = file.get((*at, "text"), str, None)
    written_for = file.get((*at, "written_for"), str, None)
    if text is None and not passages:
        raise file.error(at, f"prompt {prompt_id!r} needs text: or passage:")
    if text is not None and passages and written_for is None:
        raise file.error(
            at,
            f"prompt {prompt_id!r} rewords its passage; once it says the same, "
            f"add written_for: {passages_fingerprint(passages)!r}",
        )
    verbatim = forms.apply(join_passages([p.text for p in passages])) if passages else None
    spoken = forms.apply(text.strip()) if text is not None else verbatim
    prompt = Prompt(
        prompt_id,
        (spoken or "").strip(),
        tuple(passages),
        tuple(excerpts),
        written_for,
        text.strip() if text is not None and passages else None,
        file.where(at),
    )
    if prompt.stale and verbatim is not None:
        # The document changed under this rewording: speak the passage as it now reads.
        return replace(prompt, text=verbatim)
    return prompt
