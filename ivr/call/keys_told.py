"""The keys a caller is told to press, against the keys that work where they are told.

Every prompt that says "press 3" must be heard only where 3 does something, in every language
and every place it is heard; a key that works where no prompt heard there names it is a warning,
unless menu.yaml lists it under `unspoken_keys:`. The call flow itself says where each prompt
is heard and which keys then work (moments.py); the language files say how keys are named
(ivr.menu.named_keys).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ivr.call.moments import Moment, call_moments
from ivr.call.speech_match import SpeechKeys
from ivr.errors import Where
from ivr.menu.model import EVERY_SECTION, Language, PhoneLine
from ivr.menu.named_keys import KeyNamer, NamedKey
from ivr.menu.words import words_of

MAX_PLACES = 4  # menus and sections named in one problem; the rest are counted
_Named = Callable[[str, str], tuple[NamedKey, ...]]  # (language, text) -> the keys it names


@dataclass(frozen=True)
class KeyProblem:
    severity: str  # "error" or "warning"
    where: Where
    message: str
    fix: str


def key_problems(
    line: PhoneLine, recorded: Mapping[str, str] | None = None, exhaustive: bool = False
) -> list[KeyProblem]:
    """Keys named where they do nothing (errors), and keys that work unnamed (warnings).

    `recorded`: "<lang>/<prompt id>" -> the words a recording was made from, where they differ
    from the prompt's; they are held to the same rule. `exhaustive`: see call_moments.
    """
    moments = call_moments(line, exhaustive)
    namers = {code: KeyNamer(language) for code, language in line.languages.items()}
    cache: dict[tuple[str, str], tuple[NamedKey, ...]] = {}

    def named(language: str, text: str) -> tuple[NamedKey, ...]:
        if (language, text) not in cache:
            cache[language, text] = namers[language].named(text)
        return cache[language, text]

    places = _Places(line, moments, named)
    problems = _named_but_dead(line, moments, named, places, recorded or {})
    problems += _named_for_another(line, moments, named, recorded or {})
    problems += _working_but_unnamed(line, places)
    problems += _unspoken_but_dead(line, places)
    return problems


Place = tuple[str, str]  # a menu or section, in a call in a language


class _Places:
    """At each menu and section, in a call in each language: the keys that work, the keys
    its prompts name, and the prompts heard (a question about options names only what the
    caller said, so it tells of no key)."""

    def __init__(self, line: PhoneLine, moments: Iterable[Moment], named: _Named) -> None:
        self.works: dict[Place, set[str]] = defaultdict(set)
        self.told: dict[Place, set[str]] = defaultdict(set)
        self.heard: dict[Place, dict[str, Where]] = defaultdict(dict)
        for moment in moments:
            if moment.kind != "ask":
                continue
            place = (moment.node, moment.language)
            self.works[place] |= moment.works
            for spoken in moment.said:
                if spoken.prompt is not None:
                    self.told[place].update(k.key for k in named(spoken.language, spoken.text))
                    prompt = line.languages[spoken.language].prompts[spoken.prompt]
                    self.heard[place].setdefault(spoken.prompt, prompt.where)
        self.order = sorted(self.works, key=lambda place: _node_order(line, place))
        self.untold = {
            place: self.works[place] - self.told[place] - set(line.unspoken_keys.get(place[0], {}))
            for place in self.order
        }


def _named_but_dead(
    line: PhoneLine,
    moments: Iterable[Moment],
    named: _Named,
    places: _Places,
    recorded: Mapping[str, str],
) -> list[KeyProblem]:
    """Each key a prompt (or a recording of it) names, where it is heard and does nothing."""
    dead: dict[tuple[str, str | None, str, NamedKey], list[Moment]] = defaultdict(list)
    for moment in moments:
        for spoken in moment.said:
            texts = [("", spoken.text)]
            if spoken.prompt is not None and f"{spoken.language}/{spoken.prompt}" in recorded:
                texts.append(("recording", recorded[f"{spoken.language}/{spoken.prompt}"]))
            for source, text in texts:
                for key in named(spoken.language, text):
                    if key.key not in moment.works:
                        dead[source, spoken.prompt, spoken.language, key].append(moment)
    problems = []
    for (source, prompt_id, code, key), where_dead in sorted(dead.items(), key=_by_prompt):
        language = line.languages[code]
        if prompt_id is None:
            what = f"{code}.yaml's which_one question"
            where = language.which_one_where or language.where
        else:
            prompt = language.prompts[prompt_id]
            what = (
                f"prompt {prompt_id!r}" if not source else f"the recording of prompt {prompt_id!r}"
            )
            where = prompt.where
        unnamed = _untold_nearby(line, where_dead, places)
        fix = f"change the words, or give key {key.key} a use there in menu.yaml"
        if all(moment.kind != "ask" for moment in where_dead):
            fix = "change the words: no key does anything there"
        if source:
            fix = "record it again with the prompt's words (`ivr studio`), then `ivr audio build`"
        elif unnamed:
            fix += f"; {unnamed} works there, and no prompt heard there names it"
        problems.append(
            KeyProblem(
                "error",
                where,
                f'{what} says "{key.words}", '
                f"but key {key.key} does nothing {_places(line, where_dead)}",
                fix,
            )
        )
    return problems


def _named_for_another(
    line: PhoneLine, moments: Iterable[Moment], named: _Named, recorded: Mapping[str, str]
) -> list[KeyProblem]:
    """Each key a prompt names for one option where it does another: "For what the police can
    do, press 1" where 1 goes to another section (two keys swapped in menu.yaml, say).

    What a key is said to be for is matched against the phrases the language file gives every
    option (`option_names:` and `words:`), offered where the words are heard or not: "press 3 to
    go back" heard in the main menu, where 3 goes to a section, is wrong there too. The option
    whose phrase fits clearly best is the one meant (_OptionPhrases.other_meant).
    """
    speech = SpeechKeys(line)
    fits = {code: _OptionPhrases(language) for code, language in line.languages.items()}
    wrong: dict[tuple[str, str, str, NamedKey], list[tuple[Moment, str, str]]] = defaultdict(list)
    for moment in moments:
        if moment.kind != "ask":
            continue
        options = speech.options_at(moment.node)
        working = {option: key for option, key in options.items() if key in moment.works}
        for spoken in moment.said:
            if spoken.prompt is None:
                continue  # the which_one question is made from option_names: it cannot differ
            texts = [("", spoken.text)]
            if f"{spoken.language}/{spoken.prompt}" in recorded:
                texts.append(("recording", recorded[f"{spoken.language}/{spoken.prompt}"]))
            for source, text in texts:
                for key in named(spoken.language, text):
                    if key.key not in moment.works:
                        continue  # a dead key: _named_but_dead's
                    own = tuple(o for o, k in working.items() if k == key.key)
                    meant = fits[spoken.language].other_meant(key.meant, own)
                    if meant is not None:
                        wrong[source, spoken.prompt, spoken.language, key].append((moment, *meant))
    problems = []
    for (source, prompt_id, code, key), found in sorted(wrong.items(), key=_by_prompt):
        moment, option, phrase = min(
            found, key=lambda f: _node_order(line, (f[0].node, f[0].language))
        )
        does, where = key_setting(line, moment.node, key.key)
        what = f"prompt {prompt_id!r}" if not source else f"the recording of prompt {prompt_id!r}"
        holder = speech.options_at(moment.node).get(option)
        fix = (
            f"if the words are right for what key {key.key} does there, add them to {code}.yaml's "
            "words: for it; if not, change the words"
            + (
                f", or give key {key.key} back to {option} in menu.yaml (key {holder} has it now)"
                if holder is not None
                else f": nothing there is {option} (a prompt heard in several places must fit each)"
            )
        )
        if source:
            fix = "record it again with the prompt's words (`ivr studio`), then `ivr audio build`"
        problems.append(
            KeyProblem(
                "error",
                line.languages[code].prompts[prompt_id].where,
                f'{what} says "{key.words}" for "{phrase}" ({option}), but in '
                f"{_node(line, moment.node)}, key {key.key}: {does or 'something else'}"
                + (f" (set at {where})" if where else ""),
                fix,
            )
        )
    return problems


class _OptionPhrases:
    """The phrases a language file gives each option, as words: its name and the caller's."""

    def __init__(self, language: Language) -> None:
        self.phrases: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._meant: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, str] | None] = {}
        names = {option: [name] for option, name in language.option_names.items()}
        for option in {*names, *language.words}:
            for phrase in [*names.get(option, []), *language.words.get(option, ())]:
                self.phrases[option].append((words_of(phrase, language.fillers), phrase))

    def other_meant(self, said: tuple[str, ...], own: tuple[str, ...]) -> tuple[str, str] | None:
        """The option, not one of the key's `own`, that `said` clearly names instead, and its
        phrase; None when the words name the key's own as well, or no option clearly.

        An option's fit is its phrase's words found in a row in `said`: a whole phrase ("tips",
        "the police"), or two words or more of a longer one ("what you can do when the police"
        of "what you can do when the police are contacted"). Another option must fit by two
        words more than the key's own; where its own fits not at all, by two words, or by one
        that is half the words ("to repeat"): "again" in "to try again" is too little to call
        the words wrong.
        """
        if (said, own) not in self._meant:  # the same words recur at many moments of a call
            self._meant[said, own] = self._other_meant(said, own)
        return self._meant[said, own]

    def _other_meant(self, said: tuple[str, ...], own: tuple[str, ...]) -> tuple[str, str] | None:
        fits = {option: self._fit(said, option) for option in self.phrases}
        ranked = sorted(((size, option, phrase) for option, (size, phrase) in fits.items()))
        if not ranked or ranked[-1][0] == 0:
            return None
        size, option, phrase = ranked[-1]
        if len(ranked) > 1 and ranked[-2][0] == size:
            return None  # two options fit as well: the words do not tell
        own_fit = max((fits[o][0] for o in own if o in fits), default=0)
        if option in own:
            return None
        if own_fit == 0:
            clear = size >= 2 or 2 * size >= len(said)  # "to repeat", not "to try again"
            return (option, phrase) if clear else None
        return (option, phrase) if size >= own_fit + 2 else None

    def _fit(self, said: tuple[str, ...], option: str) -> tuple[int, str]:
        best = (0, "")
        for words, phrase in self.phrases.get(option, []):
            run = _longest_run(said, words)
            size = run if run == len(words) or run >= 2 else 0
            best = max(best, (size, phrase))
        return best


def _longest_run(said: tuple[str, ...], words: tuple[str, ...]) -> int:
    """The most words of `words` found in a row, in order, in `said`."""
    longest = 0
    for i in range(len(said)):
        for j in range(len(words)):
            n = 0
            while i + n < len(said) and j + n < len(words) and said[i + n] == words[j + n]:
                n += 1
            longest = max(longest, n)
    return longest


def _working_but_unnamed(line: PhoneLine, places: _Places) -> list[KeyProblem]:
    """Keys that work at a menu or section in a call's language, told of by no prompt there."""
    # One warning for each key setting, naming every place and language it is untold in.
    untold: dict[tuple[str, str, Where | None], list[Place]] = defaultdict(list)
    for place in places.order:
        for key in places.untold[place]:
            untold[(key, *key_setting(line, place[0], key))].append(place)
    problems = []
    for (key, does, where), untold_at in sorted(untold.items(), key=lambda i: _key_order(i[0][0])):
        node, code = untold_at[0]
        prompts = places.heard[untold_at[0]]
        main = line.menus[node].prompt if node in line.menus else "section_keys"
        main = main if main in prompts else min(prompts, default="")
        example = f" (like {main!r}, {prompts[main]})" if main else ""
        untold_nodes = dict.fromkeys(n for n, _ in untold_at)
        nodes = _listed([_node(line, n) for n in untold_nodes])
        codes = " or ".join(f"{c}.yaml" for c in dict.fromkeys(c for _, c in untold_at))
        # Untold in every section: one entry says it for them all.
        marked = EVERY_SECTION if set(line.sections) <= set(untold_nodes) else node
        problems.append(
            KeyProblem(
                "warning",
                where or Where(line.languages[code].where.path),
                f"key {key}{f' ({does})' if does else ''} works in {nodes}, but no prompt of "
                f"{codes} heard there names it",
                f"name it in a prompt heard there{example}, or, if callers need not be told, "
                f'list it in menu.yaml under unspoken_keys: {marked}: ["{key}"]',
            )
        )
    return problems


def _unspoken_but_dead(line: PhoneLine, places: _Places) -> list[KeyProblem]:
    """unspoken_keys that name a key doing nothing there: a leftover of an earlier menu."""
    works: dict[str, set[str]] = defaultdict(set)
    for (node, _), working in places.works.items():
        works[node] |= working
    dead: dict[tuple[str, Where], list[str]] = defaultdict(list)
    for node, marked in line.unspoken_keys.items():
        for key, where in marked.items():
            if key not in works[node]:
                dead[(key, where)].append(node)
    return [
        KeyProblem(
            "error",
            where,
            f"unspoken_keys: key {key} does nothing in {_listed([_node(line, n) for n in nodes])}",
            "remove it from unspoken_keys",
        )
        for (key, where), nodes in dead.items()
    ]


def key_setting(line: PhoneLine, node: str, key: str) -> tuple[str, Where | None]:
    """What `key` does at `node`, and where menu.yaml sets it (None: not set there)."""
    if key == line.hotline.key:
        return "it reaches the hotline", line.hotline.key_where
    if key == line.more_time.key:
        return "more time", line.more_time.key_where
    menu = line.menus.get(node)
    if menu is None:
        action = line.section_keys.by_key().get(key)
        if action is not None:
            return action.replace("_", " "), line.section_keys.key_where.get(key)
        return "", line.section_keys.where
    if key in menu.keys:
        return f"goes to {menu.keys[key]}", menu.key_where.get(key)
    for language in line.languages.values():
        if node == line.start and language.switch_key == key:
            return f"the call in {language.id}", language.switch_key_where
    return "", menu.keys_where


def _places(line: PhoneLine, moments: list[Moment]) -> str:
    """Where a caller is when they hear it: "in menu 'main' (its keys: prompts/menu.yaml:49)"."""
    at: dict[str, list[str]] = {}  # how a place is named -> its menus and sections
    for moment in sorted(moments, key=lambda m: (_node_order(line, (m.node, m.language)), m.kind)):
        if moment.kind == "transfer":
            at.setdefault("while the call is put through to the hotline", [])
        elif moment.kind == "hangup":
            at.setdefault("as the call ends", [])
        else:
            _, keys_at = key_setting(line, moment.node, "")
            retry = "after a failed transfer, " if moment.retry else ""
            nodes = at.setdefault(f"{retry}{{}}" + (f" (keys: {keys_at})" if keys_at else ""), [])
            if moment.node not in nodes:
                nodes.append(moment.node)
    names = [
        name.format(f"in {_listed([_node(line, n) for n in nodes])}") if nodes else name
        for name, nodes in at.items()
    ]
    return "; ".join(names)


def _listed(names: list[str]) -> str:
    """ "menu 'main', section 'police' and 2 more" """
    more = len(names) - MAX_PLACES
    return ", ".join(names[:MAX_PLACES]) + (f" and {more} more" if more > 0 else "")


def _untold_nearby(line: PhoneLine, moments: list[Moment], places: _Places) -> str:
    """A key that works where the dead one is named, that nothing there names: likely the one
    meant ("key 4, set at prompts/menu.yaml:52,")."""
    for moment in moments:
        untold = places.untold.get((moment.node, moment.language), set())
        for key in sorted(untold & moment.works, key=_key_order):
            _, where = key_setting(line, moment.node, key)
            return f"key {key}" + (f", set at {where}," if where else "")
    return ""


def _node(line: PhoneLine, node: str) -> str:
    return f"menu {node!r}" if node in line.menus else f"section {node!r}"


def _node_order(line: PhoneLine, place: tuple[str, str]) -> tuple[int, str]:
    nodes = [*line.menus, *line.sections]
    languages = list(line.languages)
    node, code = place
    return nodes.index(node) * len(languages) + languages.index(code), node


def _key_order(key: str) -> int:
    return "1234567890*#".index(key)


def _by_prompt(item: tuple[tuple[str, str | None, str, NamedKey], object]) -> tuple[str, ...]:
    source, prompt_id, code, key = item[0]
    return code, prompt_id or "", source, str(_key_order(key.key)).zfill(2), key.words
