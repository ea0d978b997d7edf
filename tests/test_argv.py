"""The fast command-line parser (ptymux.argv) agrees with the argparse one on everything it
accepts, accepts the forms scripts use, and leaves every other form to argparse."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ptymux import cli
from ptymux.argv import parse

FAST = [
    [], ["ls"], ["list-sessions"], ["-L", "work", "ls"], ["-Lwork", "ls"], ["-S", "/tmp/s", "ls"],
    ["ls", "-F", "#{session_name}"], ["ls", "--json", "-a"], ["ls", "-aF", "#{session_id}"],
    ["has", "-t", "build"], ["has-session", "-tbuild"], ["kill", "-t", "$3"],
    ["send-keys", "-t", "x", "C-c", "Enter"], ["send", "-t", "x", "-l", "text", "more"],
    ["send", "-H", "-t", "x", "1b", "5b"], ["send", "C-c"],
    ["capture", "-t", "x", "-S", "-100", "-E", "5", "-e", "-J"], ["capture", "-eJ"],
    ["capture", "-S-100"],
    ["new", "-d", "-s", "job", "--", "make", "-j4"], ["new", "-d", "make", "-j", "4"],
    ["new", "-ds", "job", "--history", "500", "--term=screen", "--", "sh", "-c", "x -y"],
    ["new", "-d", "-e", "A=1", "-e", "B=2", "-c", "/tmp", "--log", "/tmp/l", "--", "x"],
    ["new", "-d", "-A", "-s", "job", "--remain-on-exit"], ["new", "-d", "-x", "100", "-y", "30"],
    ["attach"], ["a", "-t", "build", "--detach-keys", "ctrl-a,d"], ["-L", "x"],
    ["rename", "-t", "a", "b"], ["wait", "-t", "job"], ["help"], ["help", "kill"],
    ["completions", "bash"], ["start-server", "--foreground"], ["kill-server"],
    ["-H", "box", "ls"], ["-Hbox", "ls"], ["-H", "alice@box:2222", "-L", "x", "attach", "-t", "2"],
    ["-H", "box", "new", "-d", "-s", "nightly", "--", "./run.sh"], ["proxy", "--start"],
]
SLOW = [  # argparse's to judge: help, version, mistakes, odd forms
    ["-h"], ["-V"], ["--version"], ["ls", "-h"], ["lss"], ["ls", "--bogus"], ["kill"],
    ["kill", "-t"], ["capture", "-S", "x"], ["capture", "-S"], ["has", "-t", "-x"],
    ["rename", "-t", "a"], ["rename", "-t", "a", "b", "c"], ["send", "-t", "x"],
    ["ls", "extra"], ["--", "ls"], ["ls", "--json=1"], ["-L"], ["-H"], ["-H", "-x", "ls"],
]


def _argparse(words: list[str]) -> dict[str, object]:
    return vars(cli._parse_with_argparse(list(words)))


@pytest.mark.parametrize("words", FAST, ids=" ".join)
def test_the_fast_parser_agrees_with_argparse(words: list[str]) -> None:
    fast = parse(list(words))
    assert fast is not None, "a form scripts use fell back to argparse"
    assert vars(fast) == _argparse(words)


@pytest.mark.parametrize("words", SLOW, ids=" ".join)
def test_everything_else_is_left_to_argparse(words: list[str]) -> None:
    assert parse(list(words)) is None


def test_a_command_does_not_import_argparse() -> None:
    code = ("import sys; from ptymux.argv import parse; import ptymux.cli;"
            " parse(['has', '-t', 'x']);"
            " print(sorted(m for m in ('argparse', 're', 'typing', 'asyncio', 'subprocess')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c",
                          f"import sys; sys.path[:0] = {sys.path!r}; {code}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.strip() == "[]"
