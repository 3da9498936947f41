"""Write ivr/menu/twilio_say.py from Twilio's own TwiML definitions: `make twilio-say`.

Reads the npm package `twilio`'s lib/twiml/VoiceResponse.d.ts: its SayLanguage and SayVoice
types list every language and voice Twilio's <Say> accepts. The line keeps the Amazon Polly and
Google voices, whose language Twilio gives (ivr.menu.say_voices says which language is whose).

    python -m ivr.tools.twilio_say package/lib/twiml/VoiceResponse.d.ts package/package.json
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "menu" / "twilio_say.py"
KEPT = ("Polly.", "Google.")


def listed(definitions: str, name: str) -> list[str]:
    """The string values of `type <name> = "a" | "b" | ...;`."""
    found = re.search(rf"type {name} = ([^;]*);", definitions)
    if found is None:
        raise SystemExit(f"no type {name} in the definitions")
    return re.findall(r'"([^"]+)"', found.group(1))


def render(version: str, languages: list[str], voices: list[str]) -> str:
    def block(name: str, values: list[str]) -> str:
        lines = textwrap.wrap(" ".join(values), width=92, break_on_hyphens=False)
        body = "\n".join(f"    {line}" for line in lines)
        return f'{name} = _names(\n    """\n{body}\n    """\n)\n'

    return (
        f'"""What Twilio\'s <Say> accepts, from the npm package `twilio` {version}.\n\n'
        "Written by `make twilio-say` (ivr/tools/twilio_say.py) from its\n"
        "lib/twiml/VoiceResponse.d.ts: SayLanguage, and the Amazon Polly and Google voices of\n"
        'SayVoice. Do not edit.\n"""\n\n\n'
        "def _names(text: str) -> tuple[str, ...]:\n"
        "    return tuple(text.split())\n\n\n"
        f'TWILIO_PACKAGE = "twilio {version}"\n'
        f"{block('SAY_LANGUAGES', languages)}"
        f"{block('SAY_VOICES', voices)}"
    )


def main(definitions_path: str, package_json: str) -> None:
    definitions = Path(definitions_path).read_text(encoding="utf-8")
    version = json.loads(Path(package_json).read_text(encoding="utf-8"))["version"]
    voices = [v for v in listed(definitions, "SayVoice") if v.startswith(KEPT)]
    OUT.write_text(render(version, listed(definitions, "SayLanguage"), voices), encoding="utf-8")
    print(f"{OUT}: {len(voices)} voices from twilio {version}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
