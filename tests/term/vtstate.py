"""Test helpers for the emulator: the full observable state of a model, for comparisons."""

from __future__ import annotations

from typing import Any

from ptymux.term.vt import Row, Terminal
from ptymux.term.vt_model import VtModel


def _screen(t: Terminal, buf: list[Row]) -> list[tuple[Any, ...]]:
    last = len(buf) - 1
    return [
        (tuple(row.chars), tuple(row.pens), row.wrapped and y < last)
        for y, row in enumerate(buf)
    ]


def snapshot(model: VtModel) -> dict[str, Any]:
    """Everything a redraw must reproduce: text and pens of every cell, wrap flags, the main
    screen under an alternate one, cursor (position, pending wrap, visibility, style, pen,
    charsets, saved slots), margins (DECSTBM; DECLRMM and DECSLRM), modes, tab stops,
    titles, keyboard flags, colours (and hyperlinks, which are part of each cell's pen)."""
    t = model.term
    return {
        "size": (t.cols, t.rows),
        "alt": t.alt_mode if t.in_alt else 0,
        "screen": _screen(t, t.buf),
        "main": _screen(t, t.main) if t.in_alt else None,
        "cursor": (t.x, t.y),
        "pending": t.pending and t.autowrap,
        "visible": t.cursor_visible,
        "cursor_style": t.cursor_style,
        "pen": t.pen,
        "charsets": (t.g[0], t.g[1], t.gl),
        "saved_main": t.saved_main,
        "saved_alt": t.saved_alt if t.in_alt else None,
        "margins": (t.top, t.bottom),
        "left_right": (t.left_right_mode, t.left, t.right),
        "origin": t.origin,
        "autowrap": t.autowrap,
        "reverse_wrap": t.reverse_wrap,
        "insert": t.insert,
        "lnm": t.lnm,
        "flags": sorted(t.flags),
        "mouse": (t.mouse, t.mouse_enc),
        "keypad": t.keypad,
        "modify_keys": sorted(t.modify_keys.items()),
        "kitty": (list(t.kitty_main), list(t.kitty_alt)),
        "colours": list(t.colours.items()),
        "tabs": sorted(t.tabs),
        "title": (t.title, t.icon),
    }


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two snapshots."""
    out = []
    for key in a:
        if a[key] == b[key]:
            continue
        if key in ("screen", "main") and a[key] and b[key]:
            for y, (ra, rb) in enumerate(zip(a[key], b[key], strict=False)):
                if ra != rb:
                    out.append(f"{key} row {y}: {ra!r}\n    != {rb!r}")
                    if len(out) > 5:
                        break
        else:
            out.append(f"{key}: {a[key]!r} != {b[key]!r}")
    return out


def round_trip(model: VtModel) -> list[str]:
    """Differences between ``model`` and a fresh model fed ``model.redraw()``."""
    copy = VtModel(model.cols, model.rows, 100)
    copy.feed(model.redraw())
    return diff(snapshot(model), snapshot(copy))
