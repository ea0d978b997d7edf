"""Key names to the bytes a program reads: the words of ``send-keys`` (tmux's rules).

``send-keys`` must make a program see what a real terminal would send for a key, or scripts
that drive vim, readline or a TUI through ptymux behave differently from a person typing.
Sessions run with ``TERM=xterm-256color``, so keys are encoded as xterm sends them; where
tmux 3.3a (whose panes say ``TERM=tmux``/``screen``) does the same, its behaviour was checked
against the real tmux (tests/test_keynames.py compares both).

Each word is looked at on its own, and the bytes are concatenated with nothing in between
(``send-keys hello world`` sends ``helloworld``, as tmux does):

- A key name becomes that key's bytes. Names are case-insensitive (``enter``, ``ENTER``):
  ``Enter`` (CR), ``Escape``/``Esc``, ``Tab``, ``BTab`` (CSI Z), ``Space``, ``BSpace``
  (DEL, tmux's default ``backspace``), ``Up``/``Down``/``Right``/``Left`` (CSI A..D; SS3
  A..D when the program set cursor-key application mode), ``Home``/``End`` (CSI H/F; SS3
  in cursor-key mode), ``Insert``/``IC``, ``Delete``/``DC``, ``PageUp``/``PgUp``/``PPage``,
  ``PageDown``/``PgDn``/``NPage`` (CSI 2~ 3~ 5~ 6~), ``F1``..``F12`` (SS3 P..S, then
  CSI 15~ 17~ 18~ 19~ 20~ 21~ 23~ 24~), and the keypad ``KP0``..``KP9``, ``KP/``, ``KP*``,
  ``KP-``, ``KP+``, ``KP.``, ``KPEnter`` (their characters; SS3 p..y o j m k n M when the
  program set keypad application mode).
- Modifiers are prefixes ``C-``, ``M-``, ``S-`` (either case, any order, repeats allowed):
  ``C-c`` is 0x03, ``C-Space``/``C-@``/``C-2`` 0x00, ``C-[`` ESC, ``C-?`` DEL, ``C-/`` and
  ``C--`` 0x1f, ``C-6`` 0x1e; ``M-`` puts ESC in front (``M-x``, ``C-M-a`` is ESC 0x01,
  ``M-Enter``); on cursor, editing and function keys the modifiers become xterm's parameter
  1 + shift + 2*meta + 4*ctrl (``S-Up`` CSI 1;2A, ``C-Left`` CSI 1;5D, ``C-F5`` CSI 15;5~,
  ``M-F1`` CSI 1;3P). ``S-Tab`` is ``BTab``. A single character after the modifiers keeps
  its case: ``M-X`` is ESC X (``C-`` is the same for either case of a letter).
- ``^c`` is ``C-c`` (``^C``, ``^[``, ``^^``), and ``^`` before modifiers adds ``C-``
  (``^M-a`` is ``C-M-a``).
- ``0xHH..`` (lowercase x, up to 6 hex digits) is that Unicode code point, UTF-8 encoded
  (``0x41`` is ``A``, ``0x1b`` ESC), as tmux reads it.
- Any other word is sent as its text, UTF-8 encoded: a single character, a sentence, and
  words that only look like key names (``F13``, ``F99``, ``C-``, ``C-Foo``, ``x-y``,
  ``M-ab``, ``None``, ``MouseDown1Pane``, ``--``), exactly as tmux 3.3a does. Bytes that were
  not UTF-8 in the command line (kept by Python as surrogate escapes) go out unchanged.

``literal`` (``-l``) sends every word as its text. ``hex_bytes`` (``-H``) takes each word as
one byte in hex and wins over ``literal``, as in tmux.

Where this differs from tmux 3.3a, on purpose:

- A known key with a modifier it has no encoding for is an error (KeyNameError), where tmux
  silently sends nothing (``C-1``, ``C-Enter``, ``C-Escape``, ``C-BSpace``, ``C-Tab``,
  ``C-KP0``) or, depending on the character, the word's text (``S-a``, ``S-Enter``, ``C-{``,
  ``C-M-1``): a script should not lose or mistype keystrokes without a word. ``C-`` on a
  non-ASCII character (tmux drops the ``C-``) is refused the same way.
- ``S-Tab`` (and ``S-BTab``) send CSI Z, what xterm sends for Shift-Tab; tmux 3.3a sends the
  text ``S-Tab``.
- ``Esc`` is accepted for ``Escape``; tmux sends the text ``Esc``.
- ``Home``/``End`` send CSI H / CSI F (SS3 H/F in cursor-key mode) as xterm does, matching
  the ``TERM=xterm-256color`` sessions get; tmux sends CSI 1~ / CSI 4~ (its panes' TERM).
  With modifiers both send CSI 1;mH / CSI 1;mF.
- ``KPEnter`` outside keypad application mode sends CR, as xterm's keypad Enter does; tmux
  sends LF.
- ``-H`` refuses (KeyNameError) a word that is not 1 or 2 hex digits, optionally after
  ``0x``; tmux skips such a word silently (and also takes ``001b``, ``+1b``, `` 1b``).
- ``0x41zz`` is text here; tmux reads the leading ``0x41`` and ignores the rest.
- ``User0``.. (tmux's user keys, which send nothing to a pane) are text.
"""

from __future__ import annotations

ESC = "\x1b"
CSI = ESC + "["
SS3 = ESC + "O"

# Kinds of named key; how modifiers apply differs for each.
_CHAR = 0  # one character: M- adds ESC, C- only where a control code exists
_CURSOR = 1  # CSI <final> (SS3 in cursor-key mode); modified: CSI 1;<m><final>
_SS3 = 2  # F1-F4: SS3 <final>; modified: CSI 1;<m><final>
_TILDE = 3  # CSI <n>~; modified: CSI <n>;<m>~
_KEYPAD = 4  # its character; SS3 <final> in keypad mode
_BTAB = 5  # CSI Z: Tab with shift already in it

# lowercased name -> (kind, data): data is the character (_CHAR), the final byte (_CURSOR,
# _SS3, _BTAB), the number (_TILDE), or the character then the keypad-mode final (_KEYPAD).
_NAMED: dict[str, tuple[int, str]] = {}


def _add(kind: int, data: str, *names: str) -> None:
    for name in names:
        _NAMED[name.lower()] = (kind, data)


_add(_CHAR, "\r", "Enter")
_add(_CHAR, ESC, "Escape", "Esc")
_add(_CHAR, "\t", "Tab")
_add(_CHAR, " ", "Space")
_add(_CHAR, "\x7f", "BSpace")
_add(_BTAB, "Z", "BTab")
_add(_CURSOR, "A", "Up")
_add(_CURSOR, "B", "Down")
_add(_CURSOR, "C", "Right")
_add(_CURSOR, "D", "Left")
_add(_CURSOR, "H", "Home")
_add(_CURSOR, "F", "End")
_add(_TILDE, "2", "Insert", "IC")
_add(_TILDE, "3", "Delete", "DC")
_add(_TILDE, "5", "PageUp", "PgUp", "PPage")
_add(_TILDE, "6", "PageDown", "PgDn", "NPage")
for _n, _final in enumerate("PQRS", 1):
    _add(_SS3, _final, f"F{_n}")
for _n, _code in enumerate((15, 17, 18, 19, 20, 21, 23, 24), 5):
    _add(_TILDE, str(_code), f"F{_n}")
for _char, _final in zip("0123456789/*-+.", "pqrstuvwxyojmkn", strict=True):
    _add(_KEYPAD, _char + _final, f"KP{_char}")
_add(_KEYPAD, "\rM", "KPEnter")
del _n, _final, _code, _char

#: Every key name, canonically spelled (for help text and completion).
KEY_NAMES: tuple[str, ...] = (
    "Enter", "Escape", "Esc", "Tab", "BTab", "Space", "BSpace",
    "Up", "Down", "Left", "Right", "Home", "End",
    "Insert", "IC", "Delete", "DC", "PageUp", "PgUp", "PPage", "PageDown", "PgDn", "NPage",
    *(f"F{n}" for n in range(1, 13)),
    *(f"KP{c}" for c in "0123456789/*-+."), "KPEnter",
)  # fmt: skip

# C-<char> for the characters that have a control code (tmux's and xterm's): letters of
# either case, @[\]^_ and the VT220 extras Space/2 (NUL), 6 (RS), - and / (US), ? (DEL).
_CONTROL = {chr(c): chr(c & 0x1F) for c in range(0x40, 0x60)}
_CONTROL.update({chr(c): chr(c & 0x1F) for c in range(0x61, 0x7B)})
_CONTROL.update({" ": "\x00", "2": "\x00", "6": "\x1e", "-": "\x1f", "/": "\x1f", "?": "\x7f"})

_CTRL, _META, _SHIFT = 4, 2, 1  # bits of xterm's modifier parameter (minus one)
_MODIFIER_BITS = {"c": _CTRL, "m": _META, "s": _SHIFT}

_NO_CTRL = (
    "C- goes with a letter, Space, one of @[\\]^_?26-/, or a cursor, editing or function key"
)
_NO_SHIFT = "S- goes with Tab or a cursor, editing or function key (S-a is just A)"


class KeyNameError(Exception):
    """A word ``send-keys`` cannot send; the message (one line) names it and what is accepted."""


def _text(word: str) -> bytes:
    try:
        return word.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise KeyNameError(f"{word!r} is not valid text (it holds a lone surrogate)") from None


def _hex_byte(word: str) -> int:
    digits = word[2:] if word[:2] in ("0x", "0X") else word
    if 1 <= len(digits) <= 2 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    raise KeyNameError(f"bad hex byte {word!r}: give 1 or 2 hex digits (00 to ff), 0x optional")


def _code_point(word: str) -> bytes | None:
    """``0x41`` as tmux reads it (a code point, UTF-8), or None if the word is not one."""
    digits = word[2:]
    if not 1 <= len(digits) <= 6 or not all(c in "0123456789abcdefABCDEF" for c in digits):
        return None
    code = int(digits, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None  # no such character: tmux sends the word as text
    return chr(code).encode()


def _parse(word: str) -> tuple[int, str] | None:
    """(modifier bits, key) if the word names a key, else None (it is text).

    The key is a single character or a lowercased name in _NAMED. The grammar is tmux's
    (key-string.c): ``^X``, or ``^`` then the rest; ``[CcMmSs]-`` prefixes; then one
    printable character or a table name.
    """
    mods = 0
    rest = word
    if rest[:1] == "^" and len(rest) >= 2:
        mods = _CTRL
        rest = rest[1:]
    while len(rest) >= 2 and rest[1] == "-":
        bit = _MODIFIER_BITS.get(rest[0].lower())
        if bit is None:
            return None  # x-y: not a modifier, so not a key
        mods |= bit
        rest = rest[2:]
    if len(rest) == 1:
        # A C0 character or a stray byte (a surrogate escape) after a modifier is text (tmux).
        return (mods, rest) if rest >= " " and not "\ud800" <= rest <= "\udfff" else None
    lowered = rest.lower()
    return (mods, lowered) if lowered in _NAMED else None


def _encode(word: str, mods: int, key: str, keypad_app: bool, cursor_app: bool) -> str:
    meta = ESC if mods & _META else ""
    if len(key) == 1:
        kind, data = _CHAR, key
    else:
        kind, data = _NAMED[key]
    if kind == _CHAR:
        if mods & _SHIFT:
            if data != "\t":
                raise KeyNameError(f"key {word!r} has no code: {_NO_SHIFT}")
            if mods & _CTRL:
                raise KeyNameError(f"key {word!r} has no code: {_NO_CTRL}")
            return meta + CSI + "Z"
        if mods & _CTRL:
            control = _CONTROL.get(data)
            if control is None:
                raise KeyNameError(f"key {word!r} has no code: {_NO_CTRL}")
            data = control
        return meta + data
    if kind == _BTAB:
        if mods & _CTRL:
            raise KeyNameError(f"key {word!r} has no code: {_NO_CTRL}")
        return meta + CSI + "Z"
    if kind == _KEYPAD:
        if mods & (_CTRL | _SHIFT):
            raise KeyNameError(f"key {word!r} has no code: keypad keys take M- only")
        return meta + (SS3 + data[1] if keypad_app else data[0])
    # Cursor, editing and function keys: modifiers go in xterm's parameter, not as ESC.
    param = f";{mods + 1}" if mods else ""
    if kind == _TILDE:
        return f"{CSI}{data}{param}~"
    if mods:
        return f"{CSI}1{param}{data}"
    return (SS3 if kind == _SS3 or cursor_app else CSI) + data


def keys_to_bytes(
    words: list[str],
    literal: bool = False,
    hex_bytes: bool = False,
    keypad_app: bool = False,
    cursor_app: bool = False,
) -> bytes:
    """The bytes ``send-keys [-l] [-H] WORD...`` writes to the program (module docstring).

    ``keypad_app`` and ``cursor_app`` are the session's current keypad and cursor-key modes
    (DECKPAM, DECCKM), which change what keypad and cursor keys send, as on a real terminal.
    Raises KeyNameError for a word that cannot be sent; nothing is sent then.
    """
    if hex_bytes:
        return bytes(_hex_byte(word) for word in words)
    if literal:
        return b"".join(_text(word) for word in words)
    out: list[bytes] = []
    for word in words:
        if word[:2] == "0x":
            code = _code_point(word)
            if code is not None:
                out.append(code)
                continue
        parsed = _parse(word) if len(word) > 1 else None  # a lone character is itself
        if parsed is None:
            out.append(_text(word))
        else:
            encoded = _encode(word, parsed[0], parsed[1], keypad_app, cursor_app)
            out.append(encoded.encode("utf-8", "surrogateescape"))
    return b"".join(out)
