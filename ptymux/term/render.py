"""Terminal state -> bytes: the full redraw, the detach sequence, capture and scrollback.

``redraw`` assumes nothing about the receiving terminal (it may have been left in another
session's alternate screen, with a scroll region, odd modes...): it resets what matters,
paints the main screen, then, when the program is in the alternate screen, switches to it
the way the program did and paints that, so that leaving the alternate screen later shows
the right main screen. Rows that soft-wrapped are painted through their last column so that
the client's terminal knows them as wrapped too.
"""

from __future__ import annotations

from ptymux.term.scrollback import lines_to_bytes, new_lines
from ptymux.term.vt import (
    ACS,
    ALLOW_DECCOLM,
    DEFAULT,
    FLAG_MODES,
    LEFT_RIGHT_MODE,
    MOUSE_ENCODINGS,
    MOUSE_MODES,
    PROTECTED,
    REVERSE_WRAP,
    REVERSE_WRAP_EXTENDED,
    HistLine,
    Pen,
    Row,
    SavedCursor,
    Terminal,
    cell_text,
    erase_pen,
    pen_escape,
    pen_sgr,
    wcwidth,
)

# Pops every kitty keyboard flag the terminal holds for the screen it is on (more than any
# terminal keeps: kitty and ghostty keep 8); terminals without the protocol ignore it.
KITTY_POP_ALL = "\x1b[<99u"
LINK_CLOSE = "\x1b]8;;\x1b\\"

# DECSCA on and off: SGR 0 does not end protection, so painting switches it explicitly, and
# every painting pass starts (DECSCA_OFF after the preamble and after each DECSC slot)
# unprotected. Sent only for a program that used DECSCA (``Terminal.decsca_used``).
DECSCA_ON = '\x1b[1"q'
DECSCA_OFF = '\x1b[0"q'


def _protection(p: Pen) -> str:
    """The DECSCA that gives pen ``p``'s protection."""
    return DECSCA_ON if p.flags & PROTECTED else DECSCA_OFF


_PREAMBLE = (
    "\x1b[?1049l"  # out of any alternate screen
    "\x1b[>4m"  # modifyOtherKeys off (before the SGR reset, for terminals reading it as SGR 4)
    + KITTY_POP_ALL  # (another session's flags, when switching)
    + LINK_CLOSE +
    "\x1b[r\x1b[?69l\x1b[?6l\x1b[?7h\x1b[4l\x1b[20l"  # margins, origin, autowrap, insert, LNM
    "\x1b[0m\x1b(B\x1b)B\x0f"  # pen, charsets
    "\x1b[H\x1b[2J"
)
_CLEAR = LINK_CLOSE + "\x1b[r\x1b[?6l\x1b[0m\x1b(B\x1b)B\x0f\x1b[H\x1b[2J"


def _flag(mode: int, on: bool) -> str:
    return f"\x1b[?{mode}{'h' if on else 'l'}"


def _link(link: str) -> str:
    """OSC 8 that opens hyperlink ``link`` ("params;uri"), or closes any when ''."""
    return f"\x1b]8;{link}\x1b\\" if link else LINK_CLOSE


def _switch(cur: Pen, p: Pen) -> str:
    """From pen ``cur`` to pen ``p`` while painting (G0 carries the DEC graphics)."""
    out = ""
    if (cur.flags ^ p.flags) & ACS:
        out = "\x1b(0" if p.flags & ACS else "\x1b(B"
    if pen_sgr(cur) != pen_sgr(p):
        out += pen_escape(p)
    if cur.link != p.link:
        out += _link(p.link)
    if (cur.flags ^ p.flags) & PROTECTED:
        out += _protection(p)
    return out


def _pen_change(cur: Pen, p: Pen) -> str:
    """From pen ``cur`` to pen ``p`` in text (capture -e, scrollback): SGR and hyperlink."""
    # (pen_sgr, not the pens: a flag that is no SGR attribute, DECSCA's, writes nothing)
    out = pen_escape(p) if pen_sgr(cur) != pen_sgr(p) else ""
    if cur.link != p.link:
        out += _link(p.link)
    return out


def _pen_end(cur: Pen) -> str:
    """What ends a line of text drawn with ``cur`` last: a reset, a closed hyperlink."""
    out = "\x1b[0m" if pen_sgr(cur) else ""
    return out + LINK_CLOSE if cur.link else out


def _kitty(stack: list[int]) -> str:
    """Rebuild a kitty keyboard flag stack on the screen the terminal is on."""
    return KITTY_POP_ALL + "".join(f"\x1b[>{flags}u" for flags in stack)


def _paint(t: Terminal, buf: list[Row], out: list[str]) -> None:
    """Paint ``buf`` onto a cleared screen, full margins, autowrap on, default pen."""
    cols = t.cols
    last_row = len(buf) - 1
    cur = DEFAULT
    cont = False  # the previous row wrapped: the cursor waits at its end
    for y, row in enumerate(buf):
        chars, pens = row.chars, row.pens
        wrapped = row.wrapped and y < last_row
        el_pen: Pen | None = None
        if wrapped:
            end = cols
        else:
            end = cols
            while end and chars[end - 1] == " " and pens[end - 1] == DEFAULT:
                end -= 1
            if end == cols:
                p = pens[end - 1]
                if chars[end - 1] == " " and erase_pen(p) == p:
                    # A run of erased cells with a background colour: paint it with EL.
                    while end and chars[end - 1] == " " and pens[end - 1] == p:
                        end -= 1
                    el_pen = p
        if cont:
            end = max(end, 1)
        elif end or el_pen is not None:
            out.append(f"\x1b[{y + 1}H")
        else:
            continue
        for x in range(end):
            p = pens[x]
            if p != cur:
                out.append(_switch(cur, p))
                cur = p
            out.append(chars[x])
        if el_pen is not None:
            if el_pen != cur:
                out.append(_switch(cur, el_pen))
                cur = el_pen
            out.append("\x1b[K")
        cont = wrapped
    out.append(_switch(cur, DEFAULT))


def _margins(t: Terminal) -> str:
    """The scroll region, then DECLRMM and the left/right margins (DECSLRM needs ?69 set
    first). Each homes the cursor: the cursor is placed after them."""
    out = "\x1b[r" if t.top == 0 and t.bottom == t.rows - 1 else f"\x1b[{t.top + 1};{t.bottom + 1}r"
    if t.left_right_mode:
        out += _flag(LEFT_RIGHT_MODE, True)
        if t.side_margins:
            out += f"\x1b[{t.left + 1};{t.right + 1}s"
    return out


def _cup(t: Terminal, x: int, y: int, origin: bool) -> str:
    if origin:
        x = max(x - t.left, 0)
        y = max(y - t.top, 0)
    return f"\x1b[{y + 1};{x + 1}H"


def _charsets(g0: str, g1: str, gl: int) -> str:
    return f"\x1b({g0}\x1b){g1}" + ("\x0e" if gl else "\x0f")


def _slot(s: SavedCursor, decsca: bool) -> str:
    """Put the terminal in the state a DECSC saved. Margins must be the full screen, where
    origin-relative and absolute positions agree (the saved position may lie outside the
    current margins)."""
    return (
        _flag(6, s.origin)
        + f"\x1b[{s.y + 1};{s.x + 1}H"
        + pen_escape(s.pen)
        + _link(s.pen.link)
        + _charsets(s.g0, s.g1, s.gl)
        + (_protection(s.pen) if decsca else "")  # (DECSC saves it, so ESC 7 keeps it)
    )


def redraw(t: Terminal) -> str:
    decsca = t.decsca_used
    off = DECSCA_OFF if decsca else ""
    out = [_PREAMBLE + off]
    if t.kitty_main:
        out.append(_kitty(t.kitty_main))
    if not t.in_alt:
        # The hidden alternate screen too: a program that switches with ?47h or ?1047h
        # (which do not clear it) finds it as it left it, not as the client's was; and
        # its own keyboard flags.
        out.append("\x1b[?47h" + _kitty(t.kitty_alt) + _CLEAR)
        _paint(t, t.alt, out)
        out.append(_slot(t.saved_alt, decsca) + "\x1b7\x1b[?47l" + _CLEAR + off)
    _paint(t, t.main, out)
    out.append(_slot(t.saved_main, decsca))
    if t.in_alt:
        if t.alt_mode == 1049:
            out.append("\x1b[?1049h")
        else:
            out.append(f"\x1b7\x1b[?{t.alt_mode}h")
        out.append(_kitty(t.kitty_alt) + _CLEAR + off)
        _paint(t, t.alt, out)
        out.append(_slot(t.saved_alt, decsca))
    out.append("\x1b7\x1b[?6l")
    # Tab stops (HTS at each).
    out.append("\x1b[3g")
    for stop in sorted(t.tabs):
        out.append(f"\x1b[{stop + 1}G\x1bH")
    # Cursor; a pending wrap is rebuilt by writing the last cell again.
    buf = t.buf
    out.append(_margins(t))
    out.append(_flag(6, t.origin))
    if t.pending:  # (autowrap is on here, whatever the program left: see Modes below)
        x = t.x  # (the last column, or the right margin: the margins are set already)
        # A wrap left pending at a right margin that ?69l reset since: written with that
        # margin again for a moment (?69l keeps the pending wrap, as in xterm).
        gone = x < t.cols - 1 and not t.side_margins
        if gone:
            out.append(f"{_flag(LEFT_RIGHT_MODE, True)}\x1b[1;{x + 1}s")
        row = buf[t.y]
        if row.chars[x] == "" and x:
            x -= 1
        out.append(_cup(t, x, t.y, t.origin))
        p = row.pens[x]
        # G0 and GL explicitly: the DECSC slot written above may have left others in place
        out.append(("\x1b(0" if p.flags & ACS else "\x1b(B") + "\x0f" + pen_escape(p)
                   + _link(p.link))
        out.append((_protection(p) if decsca else "") + row.chars[x])
        out.append("\x1b(B")
        if gone:
            out.append(_flag(LEFT_RIGHT_MODE, False))
            if t.left_right_mode:
                out.append(_flag(LEFT_RIGHT_MODE, True))
    else:
        out.append(_cup(t, t.x, t.y, t.origin))
    out.append(pen_escape(t.pen) + _link(t.pen.link) + (_protection(t.pen) if decsca else ""))
    out.append(_charsets(t.g[0], t.g[1], t.gl))
    # Modes. (?40 too: a later DECCOLM from the program reaches every client raw, and the
    # terminal of a late attacher must act on it as the others do: clear and home.)
    if t.allow_deccolm:
        out.append(_flag(ALLOW_DECCOLM, True))
    out.append(_flag(7, t.autowrap))
    out.append(_flag(REVERSE_WRAP, t.reverse_wrap))
    out.append(_flag(REVERSE_WRAP_EXTENDED, t.reverse_wrap_extended))
    out.append("\x1b[4h" if t.insert else "\x1b[4l")
    out.append("\x1b[20h" if t.lnm else "\x1b[20l")
    for mode in FLAG_MODES:
        out.append(_flag(mode, mode in t.flags))
    for mode in MOUSE_MODES:
        out.append(_flag(mode, False))
    if t.mouse:
        out.append(_flag(t.mouse, True))
    for mode in MOUSE_ENCODINGS:
        out.append(_flag(mode, False))
    if t.mouse_enc:
        out.append(_flag(t.mouse_enc, True))
    out.append("\x1b=" if t.keypad else "\x1b>")
    out.append(f"\x1b[{t.cursor_style} q")
    for resource, value in sorted(t.modify_keys.items()):
        out.append(f"\x1b[>{resource};{value}m")
    for key, spec in t.colours.items():
        out.append(f"\x1b]{key};{spec}\x1b\\")
    if t.title or t.icon:
        if t.title == t.icon:
            out.append(f"\x1b]0;{t.title}\x1b\\")
        else:
            out.append(f"\x1b]1;{t.icon}\x1b\\\x1b]2;{t.title}\x1b\\")
    out.append(_flag(25, t.cursor_visible))
    return "".join(out)


def leave(t: Terminal) -> str:
    """See ``ScreenModel.leave``. Besides the screen, it undoes what the program set in
    the terminal that the client's generic reset cannot know: the kitty keyboard flags it
    pushed on the alternate screen (popped before leaving it; those of the main screen the
    client pops), modifyOtherKeys-style resources other than 4, and the colours it set."""
    out = []
    if t.left_right_mode:  # (resets the left/right margins too; the cursor stays)
        out.append(_flag(LEFT_RIGHT_MODE, False))
    full = t.top == 0 and t.bottom == t.rows - 1
    if t.in_alt or not full or t.origin:
        x, y = t.x, t.y
        if t.in_alt:
            if t.kitty_alt:
                out.append(f"\x1b[<{len(t.kitty_alt)}u")
            out.append(f"\x1b[?{t.alt_mode}l")
            if t.alt_mode == 1049:
                x, y = t.saved_main.x, t.saved_main.y
        out.append(f"\x1b[?6l\x1b[r\x1b[{y + 1};{x + 1}H")
    if t.kitty_main:
        out.append(f"\x1b[<{len(t.kitty_main)}u")
    for resource in sorted(t.modify_keys):
        out.append(f"\x1b[>{resource}m")
    for key in t.colours:
        out.append(f"\x1b]104;{key[2:]}\x1b\\" if key.startswith("4;") else f"\x1b]1{key}\x1b\\")
    if t.reverse_wrap:  # (the client's reset knows none of these)
        out.append(_flag(REVERSE_WRAP, False))
    if t.reverse_wrap_extended:
        out.append(_flag(REVERSE_WRAP_EXTENDED, False))
    if t.pen.flags & PROTECTED:
        out.append(DECSCA_OFF)
    return "".join(out)


# ---------------------------------------------------------------------------------------
# capture


def _row_text(row: Row, escapes: bool, trim: bool) -> str:
    chars, pens = row.chars, row.pens
    end = len(chars)
    if trim:
        if escapes:
            while end and chars[end - 1] == " " and pens[end - 1] == DEFAULT:
                end -= 1
        else:
            return "".join([cell_text(c, p) for c, p in zip(chars, pens, strict=True)]).rstrip(" ")
    if not escapes:
        return "".join([cell_text(c, p) for c, p in zip(chars[:end], pens, strict=False)])
    out: list[str] = []
    cur = DEFAULT
    for x in range(end):
        p = pens[x]
        if p != cur:
            out.append(_pen_change(cur, p))
            cur = p
        out.append(cell_text(chars[x], p))
    out.append(_pen_end(cur))
    return "".join(out)


def _hist_text(line: HistLine, escapes: bool, trim: bool) -> str:
    if not escapes:
        return line.text.rstrip(" ") if trim else line.text
    if not line.spans:
        return line.text
    out: list[str] = []
    start = 0
    cur = DEFAULT
    for end, pen in line.runs():
        if pen != cur:
            out.append(_pen_change(cur, pen))
            cur = pen
        out.append(line.text[start:end])
        start = end
    out.append(_pen_end(cur))
    return "".join(out)


def _without_filler(line: HistLine) -> HistLine:
    """``line`` without its last character, the filler blank (``Row.filler``)."""
    cut = len(line.text) - 1
    runs = [(min(stop, cut), pen) for stop, pen in line.runs()]
    kept: list[int | Pen] = []
    begin = 0
    for stop, pen in runs:
        if stop > begin:  # (a run left empty, the filler's own, goes)
            kept += (stop, pen)
        begin = stop
    return HistLine(line.text[:cut], tuple(kept), line.wrapped, False)


def capture(
    t: Terminal,
    start: int | None = None,
    end: int | None = None,
    escapes: bool = False,
    join: bool = False,
) -> list[str]:
    history = t.history if t.history_limit else ()
    nh = len(history)
    first = 0 if start is None else start
    last = t.rows - 1 if end is None else end
    if last < first:
        first, last = last, first
    first = max(first, -nh)
    last = min(last, t.rows - 1)
    lines: list[str] = []
    acc = ""
    for i in range(first, last + 1):
        if i < 0:
            hline = history[nh + i]
            wrapped = join and hline.wrapped
            if wrapped and hline.filler:
                hline = _without_filler(hline)
            acc += _hist_text(hline, escapes, not wrapped)
        else:
            row = t.buf[i]
            wrapped = join and row.wrapped
            if wrapped and row.filler:  # (the blank a wide character left: not text)
                row = Row(row.chars[:-1], row.pens[:-1], True)
            acc += _row_text(row, escapes, not wrapped)
        if not wrapped:
            lines.append(acc)
            acc = ""
    if acc:
        lines.append(acc.rstrip(" ") if not escapes else acc)
    return lines


# ---------------------------------------------------------------------------------------
# scrollback (see scrollback.py)


def _width(text: str) -> int:
    """Cells ``text`` (one history line's text) takes, as the model drew it."""
    if text.isascii():
        return len(text)
    return sum(max(wcwidth(ch), 0) for ch in text)


def _hist_rows(line: HistLine, cols: int) -> list[tuple[str, int, bool]]:
    """One history line as (text with SGR, width, soft-wraps) rows of at most ``cols``
    cells. A line from an older, wider screen is wrapped rather than cut: what the user
    scrolls back to read is the text, and ``capture`` keeps all of it too; its rows are
    joined as a soft wrap (a two-cell character that does not fit leaves a blank), so the
    terminal still holds it as one line."""
    text = _hist_text(line, True, False)
    width = _width(line.text)
    if width <= cols:
        return [(text, width, line.wrapped)]
    rows: list[tuple[str, int, bool]] = []
    out: list[str] = []
    used = 0
    cur = DEFAULT
    start = 0
    spans = list(line.runs()) if line.spans else [(len(line.text), DEFAULT)]
    for end, pen in spans:
        for ch in line.text[start:end]:
            w = max(wcwidth(ch), 0)
            if used + w > cols:
                out.append(_pen_end(cur))
                cur = DEFAULT
                out.append(" " * (cols - used))
                rows.append(("".join(out), cols, True))
                out, used = [], 0
            if pen != cur:
                out.append(_pen_change(cur, pen))
                cur = pen
            out.append(ch)
            used += w
        start = end
    out.append(_pen_end(cur))
    rows.append(("".join(out), used, line.wrapped))
    return rows


def _main_row(row: Row, cols: int, wrapped: bool) -> tuple[str, int, bool]:
    """A main screen row: all its cells when it soft-wraps (the next row continues at the
    last column), else trimmed of trailing default blanks."""
    if wrapped:
        return _row_text(row, True, False), cols, True
    end = cols
    chars, pens = row.chars, row.pens
    while end and chars[end - 1] == " " and pens[end - 1] == DEFAULT:
        end -= 1
    return _row_text(row, True, True), end, False


def scrollback(t: Terminal, since: int | None, limit: int) -> bytes:
    held = len(t.history) if t.history_limit else 0
    total = t.history.total if t.history_limit else 0
    count = new_lines(total, held, since, limit)
    if not count:
        return b""
    rows: list[tuple[str, int, bool]] = []
    for line in t.history.slice(held - count, held):
        rows += _hist_rows(line, t.cols)
    last = len(t.main) - 1
    for y, row in enumerate(t.main):
        rows.append(_main_row(row, t.cols, row.wrapped and y < last))
    return lines_to_bytes(rows, t.cols)
