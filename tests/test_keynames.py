"""send-keys words to bytes (ptymux.keynames): every name, modifier and error, table-driven,
and a sample compared with what tmux 3.3a really writes to a program."""

from __future__ import annotations

import contextlib
import itertools
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import PrivateTmux, tmux_version
from ptymux.keynames import KEY_NAMES, KeyNameError, keys_to_bytes

ESC = b"\x1b"
CSI = b"\x1b["
SS3 = b"\x1bO"


def one(word: str, **modes: bool) -> bytes:
    return keys_to_bytes([word], **modes)


# --- every name, unmodified ---------------------------------------------------------------

# (name, normal, cursor-key mode, keypad mode): what xterm sends.
NAMED: list[tuple[str, bytes, bytes, bytes]] = [
    ("Enter", b"\r", b"\r", b"\r"),
    ("Escape", ESC, ESC, ESC),
    ("Esc", ESC, ESC, ESC),
    ("Tab", b"\t", b"\t", b"\t"),
    ("BTab", CSI + b"Z", CSI + b"Z", CSI + b"Z"),
    ("Space", b" ", b" ", b" "),
    ("BSpace", b"\x7f", b"\x7f", b"\x7f"),
    ("Up", CSI + b"A", SS3 + b"A", CSI + b"A"),
    ("Down", CSI + b"B", SS3 + b"B", CSI + b"B"),
    ("Right", CSI + b"C", SS3 + b"C", CSI + b"C"),
    ("Left", CSI + b"D", SS3 + b"D", CSI + b"D"),
    ("Home", CSI + b"H", SS3 + b"H", CSI + b"H"),
    ("End", CSI + b"F", SS3 + b"F", CSI + b"F"),
    ("Insert", CSI + b"2~", CSI + b"2~", CSI + b"2~"),
    ("IC", CSI + b"2~", CSI + b"2~", CSI + b"2~"),
    ("Delete", CSI + b"3~", CSI + b"3~", CSI + b"3~"),
    ("DC", CSI + b"3~", CSI + b"3~", CSI + b"3~"),
    ("PageUp", CSI + b"5~", CSI + b"5~", CSI + b"5~"),
    ("PgUp", CSI + b"5~", CSI + b"5~", CSI + b"5~"),
    ("PPage", CSI + b"5~", CSI + b"5~", CSI + b"5~"),
    ("PageDown", CSI + b"6~", CSI + b"6~", CSI + b"6~"),
    ("PgDn", CSI + b"6~", CSI + b"6~", CSI + b"6~"),
    ("NPage", CSI + b"6~", CSI + b"6~", CSI + b"6~"),
    ("F1", SS3 + b"P", SS3 + b"P", SS3 + b"P"),
    ("F2", SS3 + b"Q", SS3 + b"Q", SS3 + b"Q"),
    ("F3", SS3 + b"R", SS3 + b"R", SS3 + b"R"),
    ("F4", SS3 + b"S", SS3 + b"S", SS3 + b"S"),
    ("F5", CSI + b"15~", CSI + b"15~", CSI + b"15~"),
    ("F6", CSI + b"17~", CSI + b"17~", CSI + b"17~"),
    ("F7", CSI + b"18~", CSI + b"18~", CSI + b"18~"),
    ("F8", CSI + b"19~", CSI + b"19~", CSI + b"19~"),
    ("F9", CSI + b"20~", CSI + b"20~", CSI + b"20~"),
    ("F10", CSI + b"21~", CSI + b"21~", CSI + b"21~"),
    ("F11", CSI + b"23~", CSI + b"23~", CSI + b"23~"),
    ("F12", CSI + b"24~", CSI + b"24~", CSI + b"24~"),
    ("KP0", b"0", b"0", SS3 + b"p"),
    ("KP1", b"1", b"1", SS3 + b"q"),
    ("KP2", b"2", b"2", SS3 + b"r"),
    ("KP3", b"3", b"3", SS3 + b"s"),
    ("KP4", b"4", b"4", SS3 + b"t"),
    ("KP5", b"5", b"5", SS3 + b"u"),
    ("KP6", b"6", b"6", SS3 + b"v"),
    ("KP7", b"7", b"7", SS3 + b"w"),
    ("KP8", b"8", b"8", SS3 + b"x"),
    ("KP9", b"9", b"9", SS3 + b"y"),
    ("KP/", b"/", b"/", SS3 + b"o"),
    ("KP*", b"*", b"*", SS3 + b"j"),
    ("KP-", b"-", b"-", SS3 + b"m"),
    ("KP+", b"+", b"+", SS3 + b"k"),
    ("KP.", b".", b".", SS3 + b"n"),
    ("KPEnter", b"\r", b"\r", SS3 + b"M"),
]


def test_the_table_covers_every_name() -> None:
    assert sorted(name for name, *_ in NAMED) == sorted(KEY_NAMES)


@pytest.mark.parametrize(("name", "normal", "cursor", "keypad"), NAMED)
def test_named_key(name: str, normal: bytes, cursor: bytes, keypad: bytes) -> None:
    for spelling in (name, name.lower(), name.upper(), name.swapcase()):
        assert one(spelling) == normal, spelling
        assert one(spelling, cursor_app=True) == cursor, spelling
        assert one(spelling, keypad_app=True) == keypad, spelling
        # Each mode changes only its own keys.
        both = keypad if keypad != normal else cursor
        assert one(spelling, cursor_app=True, keypad_app=True) == both, spelling


# --- modifiers on cursor, editing and function keys ---------------------------------------

# name -> (prefix of the modified form, final): CSI <prefix>;<m><final>
MODIFIED_FORM: dict[str, tuple[bytes, bytes]] = {
    "Up": (b"1", b"A"), "Down": (b"1", b"B"), "Right": (b"1", b"C"), "Left": (b"1", b"D"),
    "Home": (b"1", b"H"), "End": (b"1", b"F"),
    "F1": (b"1", b"P"), "F2": (b"1", b"Q"), "F3": (b"1", b"R"), "F4": (b"1", b"S"),
    "F5": (b"15", b"~"), "F6": (b"17", b"~"), "F7": (b"18", b"~"), "F8": (b"19", b"~"),
    "F9": (b"20", b"~"), "F10": (b"21", b"~"), "F11": (b"23", b"~"), "F12": (b"24", b"~"),
    "Insert": (b"2", b"~"), "IC": (b"2", b"~"), "Delete": (b"3", b"~"), "DC": (b"3", b"~"),
    "PageUp": (b"5", b"~"), "PgUp": (b"5", b"~"), "PPage": (b"5", b"~"),
    "PageDown": (b"6", b"~"), "PgDn": (b"6", b"~"), "NPage": (b"6", b"~"),
}  # fmt: skip

# Every non-empty set of modifiers, as xterm numbers it.
PARAMETER = {"S": 2, "M": 3, "SM": 4, "C": 5, "SC": 6, "MC": 7, "SMC": 8}


@pytest.mark.parametrize("name", sorted(MODIFIED_FORM))
@pytest.mark.parametrize("mods", sorted(PARAMETER))
def test_modified_special_key_in_every_order(name: str, mods: str) -> None:
    prefix, final = MODIFIED_FORM[name]
    want = CSI + prefix + b";" + str(PARAMETER[mods]).encode() + final
    for order in itertools.permutations(mods):
        for word in ("".join(f"{m}-" for m in order) + name,
                     "".join(f"{m.lower()}-" for m in order) + name.lower()):
            # The modes change only the unmodified forms.
            assert one(word) == want, word
            assert one(word, cursor_app=True, keypad_app=True) == want, word


def test_examples_from_the_brief() -> None:
    assert one("S-Up") == CSI + b"1;2A"
    assert one("C-Left") == CSI + b"1;5D"
    assert one("C-F5") == CSI + b"15;5~"
    assert one("M-F1") == CSI + b"1;3P"
    assert one("S-Up", cursor_app=True) == CSI + b"1;2A"


# --- characters and the character keys ----------------------------------------------------

CHARACTER_CASES: list[tuple[str, bytes]] = [
    # control codes
    *((f"C-{c}", bytes([i])) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz", 1)),
    *((f"C-{c}", bytes([i])) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1)),
    ("C-@", b"\x00"), ("C-[", ESC), ("C-\\", b"\x1c"), ("C-]", b"\x1d"), ("C-^", b"\x1e"),
    ("C-_", b"\x1f"), ("C-?", b"\x7f"), ("C-Space", b"\x00"), ("C- ", b"\x00"),
    ("C-2", b"\x00"), ("C-6", b"\x1e"), ("C--", b"\x1f"), ("C-/", b"\x1f"),
    ("c-c", b"\x03"), ("C-C-a", b"\x01"), ("C-c-a", b"\x01"),
    # ^X
    ("^c", b"\x03"), ("^C", b"\x03"), ("^[", ESC), ("^^", b"\x1e"), ("^-", b"\x1f"),
    ("^@", b"\x00"), ("^?", b"\x7f"), ("^M-a", ESC + b"\x01"), ("^C-a", b"\x01"),
    ("^Up", CSI + b"1;5A"), ("^Space", b"\x00"),
    # meta
    ("M-x", ESC + b"x"), ("M-X", ESC + b"X"), ("m-x", ESC + b"x"), ("M-M-a", ESC + b"a"),
    ("M-0", ESC + b"0"), ("M--", ESC + b"-"), ("M- ", ESC + b" "), ("M-^", ESC + b"^"),
    ("M-é", ESC + "é".encode()), ("M-日", ESC + "日".encode()), ("M-\x7f", ESC + b"\x7f"),
    ("M-Enter", ESC + b"\r"), ("M-Escape", ESC + ESC), ("M-Esc", ESC + ESC),
    ("M-Space", ESC + b" "), ("M-BSpace", ESC + b"\x7f"), ("M-Tab", ESC + b"\t"),
    ("M-BTab", ESC + CSI + b"Z"),
    # meta and control
    ("C-M-a", ESC + b"\x01"), ("M-C-a", ESC + b"\x01"), ("c-m-a", ESC + b"\x01"),
    ("C-m-X", ESC + b"\x18"), ("C-M-Space", ESC + b"\x00"), ("M-C-@", ESC + b"\x00"),
    ("C-M-[", ESC + ESC),
    # shift-tab
    ("S-Tab", CSI + b"Z"), ("s-tab", CSI + b"Z"), ("S-BTab", CSI + b"Z"),
    ("M-S-Tab", ESC + CSI + b"Z"), ("S-M-Tab", ESC + CSI + b"Z"),
    # keypad with meta
    ("M-KP0", ESC + b"0"), ("M-KPEnter", ESC + b"\r"), ("M-KP/", ESC + b"/"),
    # 0x code points, as tmux reads them
    ("0x41", b"A"), ("0x1b", ESC), ("0x3", b"\x03"), ("0x0", b"\x00"), ("0xe9", "é".encode()),
    ("0x65e5", "日".encode()), ("0x1F600", "😀".encode()), ("0x7f", b"\x7f"),
]  # fmt: skip


@pytest.mark.parametrize(("word", "want"), CHARACTER_CASES)
def test_character_key(word: str, want: bytes) -> None:
    assert one(word) == want
    if not word.lower().startswith(("m-kp", "kp")):  # the modes change keypad keys only
        assert one(word, cursor_app=True, keypad_app=True) == want


def test_keypad_with_meta_in_keypad_mode() -> None:
    assert one("M-KP0", keypad_app=True) == ESC + SS3 + b"p"
    assert one("M-KPEnter", keypad_app=True) == ESC + SS3 + b"M"


# --- words sent as their text ------------------------------------------------------------

TEXT_WORDS = [
    "a", "A", "é", "日", "-", "^", "~", "\x01", "\t", "", " ",  # single characters
    "hello", "hello world", "C-a b", "ls -l\r",
    # look like key names but are not (tmux 3.3a sends these as text too)
    "F13", "F20", "F99", "F0", "C-", "M-", "S-", "C-Foo", "M-ab", "M-Ab", "C-a-b", "M-a-b",
    "x-y", "a-b", "--", "C-M-", "^ab", "M-^a", "None", "Any", "none", "MouseDown1Pane",
    "User0", "KP", "KP10", "KPEnterx", "Enterx", "F1x", "Up Down",
    # 0x that is not a code point
    "0x", "0X41", "0x41zz", "0xd800", "0x110000", "0x1234567",
    # a C0 character after a modifier is not a key (tmux)
    "M-\x01", "C-\t",
]  # fmt: skip


@pytest.mark.parametrize("word", TEXT_WORDS)
def test_text_word(word: str) -> None:
    assert one(word) == word.encode()


def test_bytes_that_were_not_utf8_pass_through() -> None:
    word = b"caf\xe9".decode("utf-8", "surrogateescape")  # how Python keeps such argv
    assert one(word) == b"caf\xe9"
    assert keys_to_bytes([word], literal=True) == b"caf\xe9"
    assert one("M-" + word[-1]) == b"M-\xe9"  # a stray byte is not a key


def test_words_are_joined_with_nothing_between() -> None:
    assert keys_to_bytes(["echo", "Space", "hi", "Enter"]) == b"echo hi\r"
    assert keys_to_bytes(["hello", "world"]) == b"helloworld"
    assert keys_to_bytes([]) == b""
    assert keys_to_bytes(["Up", "C-c"], cursor_app=True) == SS3 + b"A\x03"


def test_literal_sends_every_word_as_text() -> None:
    words = ["Enter", "C-c", "é", "0x41", "^c", "F1", "C-1", "S-a"]
    assert keys_to_bytes(words, literal=True) == "".join(words).encode()
    assert keys_to_bytes(["a", " ", "b"], literal=True) == b"a b"


# --- -H ---------------------------------------------------------------------------------

HEX_CASES: list[tuple[str, int]] = [
    ("0", 0), ("00", 0), ("1b", 0x1B), ("1B", 0x1B), ("7", 7), ("ff", 0xFF), ("FF", 0xFF),
    ("e9", 0xE9), ("0x1b", 0x1B), ("0X41", 0x41), ("0x0", 0),
]  # fmt: skip


@pytest.mark.parametrize(("word", "value"), HEX_CASES)
def test_hex_byte(word: str, value: int) -> None:
    assert keys_to_bytes([word], hex_bytes=True) == bytes([value])


def test_hex_words_and_precedence() -> None:
    assert keys_to_bytes(["68", "69", "0d"], hex_bytes=True) == b"hi\r"
    # -H wins over -l, and the modes do not matter (tmux).
    assert keys_to_bytes(["1b"], hex_bytes=True, literal=True, cursor_app=True) == ESC
    assert keys_to_bytes([], hex_bytes=True) == b""


BAD_HEX = ["", "g", "zz", "100", "1b1b", "001b", "+1b", " 1b", "1b ", "-1", "0x", "0x100",
           "x1b", "٣", "0b1"]  # fmt: skip


@pytest.mark.parametrize("word", BAD_HEX)
def test_bad_hex_byte(word: str) -> None:
    with pytest.raises(KeyNameError) as info:
        keys_to_bytes(["41", word, "42"], hex_bytes=True)
    message = str(info.value)
    assert "\n" not in message
    assert repr(word) in message
    assert "hex" in message and "00 to ff" in message


# --- errors ------------------------------------------------------------------------------

# (word, what the message must say is accepted)
UNENCODABLE: list[tuple[str, str]] = [
    *((f"C-{c}", "C- goes with") for c in "0134579`{|}~!\"#$%&'()*+,.:;<=>"),
    ("C-é", "C- goes with"), ("C-日", "C- goes with"), ("^é", "C- goes with"),
    ("C-\x7f", "C- goes with"), ("C-M-1", "C- goes with"), ("M-C-1", "C- goes with"),
    ("C-Enter", "C- goes with"), ("C-Escape", "C- goes with"), ("C-Esc", "C- goes with"),
    ("C-Tab", "C- goes with"), ("C-BSpace", "C- goes with"), ("C-BTab", "C- goes with"),
    ("M-C-Enter", "C- goes with"), ("^Enter", "C- goes with"), ("C-S-Tab", "C- goes with"),
    ("S-a", "S- goes with"), ("S-A", "S- goes with"), ("S-1", "S- goes with"),
    ("S-Enter", "S- goes with"), ("S-Space", "S- goes with"), ("S-BSpace", "S- goes with"),
    ("S-Escape", "S- goes with"), ("S-M-a", "S- goes with"), ("C-S-a", "S- goes with"),
    ("S-é", "S- goes with"),
    ("C-KP0", "keypad keys take M- only"), ("S-KP0", "keypad keys take M- only"),
    ("C-KPEnter", "keypad keys take M- only"), ("C-M-KP5", "keypad keys take M- only"),
]  # fmt: skip


@pytest.mark.parametrize(("word", "accepted"), UNENCODABLE)
def test_unencodable_key_is_refused(word: str, accepted: str) -> None:
    with pytest.raises(KeyNameError) as info:
        keys_to_bytes(["ok", word, "Enter"])
    message = str(info.value)
    assert "\n" not in message
    assert repr(word) in message
    assert accepted in message
    # -l sends it as text all the same.
    assert keys_to_bytes([word], literal=True) == word.encode()


def test_lone_surrogate_is_refused() -> None:
    for kwargs in ({}, {"literal": True}):
        with pytest.raises(KeyNameError, match="not valid text"):
            keys_to_bytes(["a\ud800"], **kwargs)


def test_message_with_control_characters_is_one_line() -> None:
    with pytest.raises(KeyNameError) as info:
        keys_to_bytes(["\n\x1b[2J"], hex_bytes=True)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


@given(st.lists(st.text(max_size=8), max_size=4), st.booleans(), st.booleans())
def test_any_words_give_bytes_or_a_key_name_error(
    words: list[str], keypad: bool, cursor: bool
) -> None:
    try:
        out = keys_to_bytes(words, keypad_app=keypad, cursor_app=cursor)
    except KeyNameError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(out, bytes)
    if not any("\ud800" <= c <= "\udfff" for w in words for c in w):
        assert keys_to_bytes(words, literal=True) == "".join(words).encode()


def test_import_is_light() -> None:
    """The CLI imports this: no typing, no re (start-up time, see ptymux/records.py)."""
    code = ("import sys, ptymux; before = set(sys.modules); import ptymux.keynames; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()
    assert out == ["ptymux.keynames"]


# --- against the real tmux 3.3a -----------------------------------------------------------

# Words tmux 3.3a and ptymux send the same bytes for.
AGREE_NORMAL = [
    "Enter", "enter", "ENTER", "Escape", "Tab", "BTab", "Space", "BSpace",
    "Up", "Down", "Left", "Right", "Insert", "IC", "Delete", "DC",
    "PageUp", "PgUp", "PPage", "PageDown", "PgDn", "NPage",
    *(f"F{n}" for n in range(1, 13)),
    "KP0", "KP5", "KP9", "KP/", "KP*", "KP-", "KP+", "KP.",
    "C-c", "C-C", "C-Space", "C-@", "C-[", "C-\\", "C-]", "C-^", "C-_", "C-?",
    "C-2", "C-6", "C-/", "C--", "C-x", "c-a", "C-C-a",
    "C-M-a", "M-C-a", "C-m-X", "C-M-Space", "M-C-@", "C-M-[",
    "M-x", "M-X", "m-x", "M-0", "M--", "M-^", "M-é", "M-M-a",
    "M-Enter", "M-Escape", "M-Space", "M-BSpace", "M-Tab", "M-BTab", "M-KP0",
    "S-Up", "s-up", "C-Left", "C-F5", "M-Up", "C-M-Up", "S-F1", "M-F1", "C-S-F1",
    "M-Home", "S-Home", "C-End", "M-PageUp", "S-Delete", "C-Insert", "C-S-M-Up", "M-S-C-Up",
    "^c", "^C", "^[", "^^", "^-", "^M-a", "^C-a",
    "0x41", "0x1b", "0x3", "0xe9",
    "a", "A", "é", "hello", "F13", "F99", "C-", "M-", "S-", "C-Foo", "x-y", "a-b",
    "M-ab", "C-a-b", "M-a-b", "None", "Any", "MouseDown1Pane", "^ab",
]  # fmt: skip
AGREE_APP = [  # with cursor-key and keypad application modes set
    "Up", "Down", "Left", "Right", "S-Up", "C-Left", "M-Up", "F1", "Enter", "Tab",
    *(f"KP{c}" for c in "0123456789/*-+."), "KPEnter", "M-KP0", "M-KPEnter",
]  # fmt: skip

# Where ptymux differs on purpose (module docstring): word -> what tmux 3.3a sends.
DIFFER_NORMAL: dict[str, bytes] = {
    "Esc": b"Esc", "Home": CSI + b"1~", "End": CSI + b"4~", "KPEnter": b"\n",
    "M-KPEnter": ESC + b"\n", "S-Tab": b"S-Tab", "User0": b"",
    "C-1": b"", "C-Enter": b"", "C-Escape": b"", "C-Tab": b"", "C-BSpace": b"",
    "C-BTab": b"", "C-KP0": b"", "C-`": b"", "C-é": "é".encode(),
    "S-a": b"S-a", "S-Enter": b"S-Enter", "C-{": b"C-{", "C-M-1": b"C-M-1",
    "M-C-Enter": b"M-C-Enter", "C-S-Tab": b"C-S-Tab",
}  # fmt: skip
DIFFER_APP: dict[str, bytes] = {"Home": CSI + b"1~", "End": CSI + b"4~"}

# The program in the pane: raw mode, sets the modes it is asked to, then appends every byte
# it reads to a file. It writes R to the file once it is ready.
READER = """
import os, sys, tty
tty.setraw(0)
if sys.argv[2] == "app":
    os.write(1, b"\\033[?1h\\033=")
with open(sys.argv[1], "ab", buffering=0) as f:
    f.write(b"R")
    while data := os.read(0, 4096):
        f.write(data)
"""
SENTINEL = "ff"  # sent with -H after each word: no key sends a 0xff byte


def wait_for(check: object, what: str, seconds: float = 3.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def tmux_sends(tmux: PrivateTmux, session: str, out: Path, words: list[str]) -> list[bytes]:
    """What the program in ``session`` reads for each word, one send-keys each."""
    command: list[str] = []
    for word in words:
        command += ["send-keys", "-t", session, "--", word, ";",
                    "send-keys", "-t", session, "-H", SENTINEL, ";"]
    tmux(*command[:-1])
    wait_for(lambda: out.read_bytes().count(b"\xff") >= len(words), f"keys in {session}")
    return out.read_bytes()[1:].split(b"\xff")[: len(words)]


@pytest.mark.timeout(20)
def test_against_tmux(tmp_path: Path) -> None:
    version = tmux_version()
    if version != "tmux 3.3a":
        pytest.skip(f"needs tmux 3.3a (found {version or 'none'})")
    tmux = PrivateTmux("keys", {"LC_ALL": "C.UTF-8"})  # tmux reads 0xe9 through the locale
    try:
        outs = {}
        for session in ("normal", "app"):
            outs[session] = tmp_path / session
            outs[session].write_bytes(b"")
            program = shlex.join([sys.executable, "-c", READER, str(outs[session]), session])
            tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", program)
        for session, out in outs.items():
            wait_for(lambda out=out: out.read_bytes() == b"R", f"the reader in {session}")
        wait_for(lambda: tmux("display-message", "-p", "-t", "app",
                              "#{keypad_flag}#{keypad_cursor_flag}").strip() == "11",
                 "application modes")

        normal = [*AGREE_NORMAL, *DIFFER_NORMAL]
        app = [*AGREE_APP, *DIFFER_APP]
        got = dict(zip(normal, tmux_sends(tmux, "normal", outs["normal"], normal),
                       strict=True))
        got_app = dict(zip(app, tmux_sends(tmux, "app", outs["app"], app), strict=True))
    finally:
        tmux.close()

    mismatches = [(w, got[w], one(w)) for w in AGREE_NORMAL if got[w] != one(w)]
    modes = {"cursor_app": True, "keypad_app": True}
    mismatches += [(w, got_app[w], one(w, **modes)) for w in AGREE_APP
                   if got_app[w] != one(w, **modes)]
    assert not mismatches, "(word, tmux, ptymux): " + repr(mismatches)
    # The documented differences are real: tmux does send these.
    assert {w: got[w] for w in DIFFER_NORMAL} == DIFFER_NORMAL
    assert {w: got_app[w] for w in DIFFER_APP} == DIFFER_APP
    for word in DIFFER_NORMAL:  # and ptymux sends something else, or refuses
        with contextlib.suppress(KeyNameError):
            assert one(word) != DIFFER_NORMAL[word], word
