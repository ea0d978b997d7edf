"""Text from sessions, programs, arguments or the server, made safe to print to a terminal.

A session's command line, its name, a target someone typed, an error message the server
sent: any of them may carry ``ESC ] 0;…`` (a new window title), ``ESC [2J`` (a cleared
screen) or an OSC 52 clipboard write, and printing them raw would hand those to the terminal
of whoever runs ``ls``. Control characters are shown escaped instead, as ``ls -b`` and tmux
show them: ``\\t``, ``\\n``, ``\\r`` C-style, the rest as octal bytes (``ESC`` is ``\\033``,
the C1 CSI U+009B is ``\\302\\233``), and bytes that were not UTF-8 (kept as surrogates by
Python's file-system decoding) as the octal of the byte.
"""

from __future__ import annotations

_SPECIAL = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _octal(data: bytes) -> str:
    return "".join(f"\\{b:03o}" for b in data)


def _escape(code: int) -> str:
    if code in _SPECIAL:
        return _SPECIAL[code]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return _octal(bytes([code - 0xDC00]))
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: not printable in any encoding
        return f"\\u{code:04x}"
    return _octal(chr(code).encode())


_TABLE = {
    code: _escape(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
}


def printable(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1) and surrogate escaped."""
    if text.isprintable():  # the common case, and fast: no control characters at all
        return text
    out = text.translate(_TABLE)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in out):
        out = "".join(_escape(ord(c)) if 0xD800 <= ord(c) <= 0xDFFF else c for c in out)
    return out
