"""`ivr call`: the real app's TwiML, followed in the terminal."""

from __future__ import annotations

import subprocess

from tests.helpers import TOKEN, ivr


def ivr_call(*args: str, stdin: str = "", token: str = "") -> subprocess.CompletedProcess[str]:
    """`ivr call`, unsigned unless given a token."""
    return ivr("call", *args, stdin=stdin, TWILIO_AUTH_TOKEN=token)


def test_a_scripted_call_prints_the_whole_transcript():
    result = ivr_call("--keys", "1,7,#,0,busy")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Calling http://localhost/voice"
    assert "hang up and call nine one one" in lines[1]
    assert "> caller presses 1" in lines
    assert any("Sometimes the best way to keep yourself safe" in line for line in lines)
    assert "> caller presses 7" in lines
    assert any("Sorry, that is not an option." in line for line in lines)
    assert "> caller presses #" in lines
    assert any("You have more time to answer now." in line for line in lines)
    assert "  ... waiting for a key, 6 s" in lines, "the point's wait doubled"
    assert any(line.startswith("  TRANSFER to +18663319474") for line in lines)
    assert "> the transfer ends: busy" in lines
    assert any("could not be reached just now" in line for line in lines)
    assert lines[-1] == "  caller hangs up"


def test_an_empty_item_is_silence():
    result = ivr_call("--keys", "#,,,")
    assert result.stdout.count("> caller stays silent (14 s)") == 3
    assert "  TRANSFER to +18663319474" in result.stdout


def test_keys_typed_at_the_terminal():
    result = ivr_call(stdin="2\n1\n\nq\n")
    assert "> caller presses 2" in result.stdout
    assert "If the police are contacted, remember these important tips" in result.stdout
    assert "When you call nine one one or your local police department" in result.stdout
    assert "> caller stays silent (3 s)" in result.stdout
    assert result.stdout.rstrip().endswith("caller hangs up")


def test_a_call_to_a_running_server_is_signed(server):
    result = ivr_call(server.url, "--keys", "3,0,answered", token=TOKEN)
    assert result.returncode == 0, result.stdout
    assert "Peer advocates are available" in result.stdout
    assert "Thank you for calling" in result.stdout
    assert "END: the line hangs up" in result.stdout
    unsigned = ivr_call(server.url, "--keys", "1")
    assert unsigned.returncode == 1
    assert "application error: HTTP 403" in unsigned.stdout


def test_a_call_in_spanish_by_voice():
    result = ivr_call("--keys", "9,policía,siguiente,más tiempo")
    assert result.returncode == 0, result.stderr
    assert "Para español, oprime 9." in result.stdout
    assert '> caller says "policía"' in result.stdout
    assert "A veces, la mejor manera de protegerte" in result.stdout
    assert "¿Qué puede hacer la policía?" in result.stdout
    assert "Ahora tienes más tiempo para responder." in result.stdout


def test_a_noisy_caller_in_the_terminal():
    result = ivr_call("--keys", "1,come here you,turn that off,the news at six")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("I will listen for keys only now.") == 1
    assert '> caller says "the news at six (not heard: keys only)"' in result.stdout
    assert "Sorry, that is not an option." not in result.stdout
    assert "TRANSFER" not in result.stdout
