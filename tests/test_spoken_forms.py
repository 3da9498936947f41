"""What the line says is clear on a phone: numbers digit by digit, no web spellings."""

from __future__ import annotations

import re

import pytest

from ivr.menu.spoken_forms import SpokenForms, join_passages

WRITTEN_FORMS = [
    r"(?<!-)\b911\b",  # 9-1-1 is said digit by digit
    r"1-866-331-9474|18663319474",
    r"\b22522\b",
    r"loveisrespect",
    r'"loveis"',
    r"\bwww\.",
    r"24/7",
    r"\bNAMES\b|\bBADGE\b",
]


def test_no_prompt_uses_a_written_form(en, en_prompt_id):
    text = en[en_prompt_id].text
    for pattern in WRITTEN_FORMS:
        assert not re.search(pattern, text), f"{en_prompt_id}: {pattern!r} in {text!r}"


def test_the_spoken_forms_the_line_needs(en):
    hotline = "one. eight, six, six. three, three, one. nine, four, seven, four"
    assert en["reach.call"].text == f"Call {hotline}. Again: {hotline}"
    assert en["reach.chat"].text == "Chat at love is respect dot org"
    assert en["reach.text"].text == (
        "Text the word love is, spelled L, O, V, E, I, S, "
        "to two two five, two two. Again: two two five, two two."
    )
    assert "When you call nine one one or your local police department" in en["you.call"].text
    assert en["reach.more"].text == "For more information, visit love is respect dot org"


@pytest.mark.parametrize(("code", "again"), [("en", "Again: "), ("es", "Otra vez: ")])
def test_numbers_are_words_said_twice_and_the_keyword_is_spelled_once(code, again, line):
    language = line.languages[code]
    forms = language.spoken_forms
    assert not re.search(r"\d", forms["911"].said), "911 is said in words"
    for number in ("1-866-331-9474", "22522"):
        first, _, second = forms[number].said.partition(again)
        assert first.rstrip(". ") == second, f"{number} is said twice"
        # Wherever the line gives the number, it gives it twice.
        for prompt in language.prompts.values():
            assert prompt.text.count(second) in (0, 2), (prompt.id, number)
    assert forms['"loveis"'].said.count("L, O, V, E, I, S") == 1
    for prompt_id in ("reach.text", "other_ways"):
        assert language.prompts[prompt_id].text.count("L, O, V, E, I, S") == 1


def test_longest_form_first_and_whole_words_only():
    forms = SpokenForms({"911": "nine one one", "a.org": "a dot org", "www.a.org": "a dot org"})
    assert forms.apply("call 911 or 9110, see www.a.org or a.org") == (
        "call nine one one or 9110, see a dot org or a dot org"
    )


def test_joined_passages_end_each_sentence():
    assert join_passages(["What Can I Do?", "Title", "rest"]) == "What Can I Do? Title. rest"
