"""The VT parser: program output in, named operations out.

pyte's parser is a per-character generator; this one tokenizes with one regex
(:data:`_TOKEN`, one named group per kind of token) that takes a whole run of text, or a
whole escape sequence, per match, and hands each token to an operation named after what it
does. The operations are methods of the object the parser is mixed into: the tables below
name them (so the parser never knows how the screen works), and :meth:`Parser._bind` looks
each up once, so that dispatching a token is one dict lookup and one call of a bound
method.

The operations, by token:

- text: ``draw_ascii(text)`` when it is all ASCII (the fast path: no widths to look up),
  ``draw(text)`` otherwise; text holds no control character;
- SGR (``CSI params m``, the commonest sequence): ``sgr(params, text)``, with the text that
  follows it (often empty): the commonest pair of tokens, one call;
- a C0 control: :data:`CONTROLS` (no argument); no C1 control acts (see there);
- ``ESC [intermediates] final``: :data:`ESCAPES` (with the arguments given there);
- ``CSI [private marker] params [intermediates] final``: :data:`CSI`, keyed by marker,
  intermediates and final, with the parameters as a tuple of ints (sub-parameters after
  ``:`` dropped, each capped at 9999, 0 for an empty one);
- ``OSC number ; text`` (ended by BEL or ST): :data:`OSCS`, keyed by the number, with
  ``(number, text, bel)`` (``bel``: it ended with BEL, as a reply to it must);
- DCS, SOS, PM, APC strings: ``control_string(introducer, body)``.

Sequences nobody acts on are dropped (an unknown final byte, a malformed or cancelled
sequence, a misplaced private marker), as in xterm. One piece of state is shared with the
operations: ``last_char``, the character REP (``CSI b``) repeats. The screen sets it as it
draws; the parser forgets it at every control, ESC and CSI sequence but SGR and REP (tmux
keeps it in its parser as well).

An escape sequence split between two feeds is held back (``_held``) until its end arrives;
so is an incomplete UTF-8 character (in the incremental decoder).
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from ptymux.term.charsets import CHARSET_CODES
from ptymux.term.contained import count_error

log = logging.getLogger(__name__)

# One alternative per kind of token; ``Match.lastgroup`` names the kind.
_TOKEN = re.compile(
    r"(?P<text>[^\x00-\x1f\x7f-\x9f]+)"
    r"|(?P<sgr>\x1b\[(?P<sgr_params>[0-9;:]*)m(?P<sgr_text>[^\x00-\x1f\x7f-\x9f]*))"
    r"|(?P<csi>\x1b\[(?P<csi_params>[0-?]*)(?P<csi_inter>[ -/]*)(?P<csi_final>[@-~]))"
    r"|(?P<control>[\x00-\x1a\x1c-\x1f\x7f-\x9f])"  # C0 and C1 but ESC
    r"|(?P<osc>\x1b\](?P<osc_body>[^\x07\x18\x1a\x1b]*)"
    r"(?P<osc_end>\x07|\x1b\\|[\x18\x1a]|(?=\x1b)))"
    r"|(?P<string>\x1b(?P<string_kind>[P^_X])(?P<string_body>[^\x18\x1a\x1b]*)"
    r"(?:\x1b\\|[\x18\x1a]|(?=\x1b)))"  # DCS, PM, APC, SOS
    r"|(?P<esc>\x1b(?P<esc_inter>[ -/]*)(?P<esc_final>(?<=[ -/])[0-~]|[0-OQ-WYZ\\`-~]))"
    r"|(?P<broken>\x1b)",  # a lone ESC: incomplete, cancelled, malformed or with C0 inside
    re.DOTALL,
)
_INCOMPLETE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x18\x1a\x1b]*|[P^_X][^\x18\x1a\x1b]*|[ -/]*)"
)
# A CSI sequence with C0 controls inside (vttest does this): the controls act first.
_CSI_WITH_C0 = re.compile(
    r"\x1b\[(?P<params>[\x00-\x17\x19\x1c-\x1f0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"
)
_C0_IN = re.compile(r"[\x00-\x1f]")
# C0 controls right after ESC (vttest, fuzzers): they act, and the sequence goes on after
# them (xterm, DEC's parser: ``ESC TAB [ 2 4 d`` is a TAB, then VPA 24). The sequence is
# looked for in at most _AFTER_C0 characters after them (longer ones: as before, ignored).
_ESC_C0 = re.compile(r"\x1b([\x00-\x17\x19\x1c-\x1f]+)")
_AFTER_C0 = 512
# CAN / SUB abort a sequence being read; nothing of it is shown.
_CANCELLED = re.compile(r"\x1b(?:\[[ -?]*|[ -/]*)[\x18\x1a]")
# A malformed CSI sequence (parameter after intermediate...): ignored up to its final byte.
_CSI_MALFORMED = re.compile(r"\x1b\[[ -?]*[@-~]")
_MAX_HELD = 1 << 20
_MAX_PARAM = 9999

# Group numbers of the named groups, for the hot loop (a number is quicker to look up).
_G = _TOKEN.groupindex
_TEXT, _SGR, _CSI, _CONTROL, _OSC, _STRING, _ESC = (
    _G["text"], _G["sgr"], _G["csi"], _G["control"], _G["osc"], _G["string"], _G["esc"])
_SGR_PARAMS, _SGR_TEXT = _G["sgr_params"], _G["sgr_text"]
_CSI_PARAMS, _CSI_INTER, _CSI_FINAL = _G["csi_params"], _G["csi_inter"], _G["csi_final"]
_OSC_BODY, _OSC_END = _G["osc_body"], _G["osc_end"]
_STRING_KIND, _STRING_BODY = _G["string_kind"], _G["string_body"]
_ESC_INTER, _ESC_FINAL = _G["esc_inter"], _G["esc_final"]
_BROKEN = _G["broken"]
del _G

# CSI parameter strings -> their values (programs send the same few over and over);
# _MALFORMED for a misplaced private marker or garbage.
_MALFORMED: tuple[int, ...] = (-1,)
_PARAMS: dict[str, tuple[int, ...]] = {}

# C0 controls -> operation. No C1 control acts, as in xterm in UTF-8 mode ("it is not
# possible to use a C1 control obtained from decoding the UTF-8 text", ctlseqs; tmux and
# libghostty-vt agree): the code points U+0080-U+009F are ignored, and raw bytes 0x80-0x9F,
# invalid UTF-8, are drawn as U+FFFD. A program wanting IND, NEL, HTS, RI, CSI... writes
# them as ESC sequences.
CONTROLS: dict[str, str] = {
    "\r": "carriage_return",
    "\n": "linefeed",
    "\x0b": "linefeed",
    "\x0c": "linefeed",
    "\x08": "backspace",
    "\t": "tab",
    "\x0e": "shift_out",
    "\x0f": "shift_in",
}

# intermediates + final -> (operation, arguments...).
ESCAPES: dict[str, tuple[Any, ...]] = {
    "D": ("esc_ind",),
    "E": ("esc_nel",),
    "H": ("esc_hts",),
    "M": ("esc_ri",),
    "6": ("esc_decbi",),
    "9": ("esc_decfi",),
    "7": ("save_cursor",),
    "8": ("restore_cursor",),
    "=": ("esc_deckpam",),
    ">": ("esc_deckpnm",),
    "c": ("reset",),
    "#8": ("alignment",),
    **{"(" + code: ("designate_charset", 0, code) for code in CHARSET_CODES},
    **{")" + code: ("designate_charset", 1, code) for code in CHARSET_CODES},
}

# private marker + intermediates + final -> operation (given the parameters).
CSI: dict[str, str] = {
    "@": "csi_ich",
    "A": "csi_cuu",
    "B": "csi_cud",
    "C": "csi_cuf",
    "D": "csi_cub",
    "E": "csi_cnl",
    "F": "csi_cpl",
    "G": "csi_cha",
    "H": "csi_cup",
    "I": "csi_cht",
    "J": "csi_ed",
    "?J": "csi_decsed",
    "K": "csi_el",
    "?K": "csi_decsel",
    '"q': "csi_decsca",
    "L": "csi_il",
    "M": "csi_dl",
    "P": "csi_dch",
    "S": "csi_su",
    "T": "csi_sd",
    "X": "csi_ech",
    "Z": "csi_cbt",
    "`": "csi_cha",
    "a": "csi_hpr",
    "b": "csi_rep",
    "c": "csi_da1",
    ">c": "csi_da2",
    "d": "csi_vpa",
    "e": "csi_vpr",
    " @": "csi_sl",
    " A": "csi_sr",
    "'}": "csi_decic",
    "'~": "csi_decdc",
    "f": "csi_cup",
    "g": "csi_tbc",
    "h": "csi_sm",
    "l": "csi_rm",
    "?h": "csi_decset",
    "?l": "csi_decrst",
    ">m": "csi_modify_keys",
    ">n": "csi_modify_keys_off",
    ">u": "csi_kitty_push",
    "<u": "csi_kitty_pop",
    "=u": "csi_kitty_set",
    "?u": "csi_kitty_query",
    "n": "csi_dsr",
    "?n": "csi_dsr_private",
    "r": "csi_stbm",
    "s": "csi_scosc",  # (DECSLRM when ?69 is set)
    "u": "csi_scorc",
    "t": "csi_winops",
    "!p": "csi_decstr",
    "$p": "csi_decrqm_ansi",
    "?$p": "csi_decrqm_dec",
    " q": "csi_decscusr",
    ">q": "csi_xtversion",
}

# OSC number -> operation (given number, text, bel).
OSCS: dict[str, str] = {
    "0": "osc_title",
    "1": "osc_title",
    "2": "osc_title",
    "4": "osc_palette",
    "10": "osc_dynamic",
    "11": "osc_dynamic",
    "12": "osc_dynamic",
    "104": "osc_reset_palette",
    "110": "osc_reset_dynamic",
    "111": "osc_reset_dynamic",
    "112": "osc_reset_dynamic",
    "7": "osc_cwd",
    "8": "osc_link",
    "133": "osc_mark",
}

# Error counts at which a contained exception is logged (with its traceback).
def _parse_params(params: str) -> tuple[int, ...]:
    """CSI parameters as ints, sub-parameters dropped; _MALFORMED for a misplaced private
    marker or garbage."""
    digits = params.replace(";", "").replace(":", "")
    if digits and not digits.isdigit():
        return _MALFORMED
    values = []
    if params:
        for p in params.split(";"):
            if ":" in p:
                p = p.split(":", 1)[0]
            values.append(min(int(p), _MAX_PARAM) if p else 0)
    return tuple(values)


class Parser:
    """Tokenizes program output and calls the named operations (see the module's
    docstring) on ``self``: mixed into the class that implements them."""

    last_char = ""  # (the screen's: REP's character)
    errors = 0  # exceptions contained: counted by count_error

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""
        self._bind()

    def _bind(self) -> None:
        """The dispatch tables: each named operation looked up once, bound to ``self``."""
        op = self._op
        self._ctl: dict[str, Callable[[], None]] = {k: op(v) for k, v in CONTROLS.items()}
        self._esc: dict[str, Callable[[], None]] = {
            k: partial(op(name), *args) if args else op(name)
            for k, (name, *args) in ESCAPES.items()
        }
        self._csi: dict[str, Callable[[tuple[int, ...]], None]] = {
            k: op(v) for k, v in CSI.items()
        }
        self._oscs: dict[str, Callable[[str, str, bool], None]] = {
            k: op(v) for k, v in OSCS.items()
        }
        self._op_draw: Callable[[str], None] = op("draw")
        self._op_draw_ascii: Callable[[str], None] = op("draw_ascii")
        self._op_sgr: Callable[[str, str], None] = op("sgr")
        self._op_string: Callable[[str, str], None] = op("control_string")

    def _op(self, name: str) -> Any:
        return getattr(self, name)

    # -- feeding ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            text = self._decoder.decode(data)
        except Exception:  # pragma: no cover - "replace" never raises
            count_error(self, "decode")
            return
        if self._held:
            text = self._held + text
            self._held = ""
        if text:
            self.feed_text(text)

    def feed_text(self, s: str) -> None:
        pos: int | None = 0
        while pos is not None:
            pos = self._run(s, pos)

    def _run(self, s: str, pos: int) -> int | None:
        """Process ``s`` from ``pos``; returns where to resume, or None when done."""
        draw = self._op_draw
        draw_ascii = self._op_draw_ascii
        sgr = self._op_sgr
        csi = self._csi
        ctl = self._ctl
        k_text, k_sgr, k_csi, k_control = _TEXT, _SGR, _CSI, _CONTROL  # (locals: quicker)
        for m in _TOKEN.finditer(s, pos):
            kind = m.lastindex  # the group named after the kind of token
            try:
                if kind == k_text:
                    text = m.group()
                    if text.isascii():
                        draw_ascii(text)
                    else:
                        draw(text)
                elif kind == k_sgr:
                    params, text = m.group(_SGR_PARAMS, _SGR_TEXT)
                    sgr(params, text)
                elif kind == k_csi:
                    params, inter, final = m.group(_CSI_PARAMS, _CSI_INTER, _CSI_FINAL)
                    self._dispatch_csi(params, inter, final, csi)
                elif kind == k_control:
                    self.last_char = ""
                    handler = ctl.get(m.group())
                    if handler is not None:
                        handler()
                elif kind == _OSC:
                    body, end = m.group(_OSC_BODY, _OSC_END)
                    num, _, text = body.partition(";")
                    osc = self._oscs.get(num)
                    if osc is not None:
                        osc(num, text, end == "\x07")
                elif kind == _ESC:
                    self.last_char = ""
                    esc = self._esc.get(m.group(_ESC_INTER) + m.group(_ESC_FINAL))
                    if esc is not None:
                        esc()
                elif kind == _STRING:
                    self._op_string(*m.group(_STRING_KIND, _STRING_BODY))
                else:  # a lone ESC
                    start = m.start()
                    if len(s) - start < _MAX_HELD and _INCOMPLETE.fullmatch(s, start):
                        self._held = s[start:]
                        return None
                    c = _CANCELLED.match(s, start)
                    if c is not None:
                        return c.end()
                    c = _ESC_C0.match(s, start)
                    if c is not None:
                        return self._esc_after_controls(s, c.end(), c.group(1), ctl)
                    c = _CSI_WITH_C0.match(s, start)
                    if c is not None and m.end() == start + 1:
                        # Handled by re-feeding: controls first, then the clean sequence.
                        params = c.group("params")
                        for ch in _C0_IN.findall(params):
                            handler = ctl.get(ch)
                            if handler is not None:
                                handler()
                        self._dispatch_csi(_C0_IN.sub("", params), c.group("inter"),
                                           c.group("final"), csi)
                        return c.end()
                    c = _CSI_MALFORMED.match(s, start)
                    if c is not None:
                        return c.end()
            except Exception:
                count_error(self, "feed")
        return None

    def _esc_after_controls(self, s: str, end: int, controls: str,
                            ctl: dict[str, Callable[[], None]]) -> int | None:
        """``ESC``, C0 ``controls``, then the rest of a sequence from ``s[end]``: the
        controls act, then the sequence does. Returns where to resume, as ``_run``."""
        for ch in controls:
            handler = ctl.get(ch)
            if handler is not None:
                handler()
        window = "\x1b" + s[end : end + _AFTER_C0]
        whole = end + _AFTER_C0 >= len(s)  # the window holds the rest of the input
        if whole and len(window) < _MAX_HELD and _INCOMPLETE.fullmatch(window):
            self._held = window  # (the controls have acted: they are not held)
            return None
        t = _TOKEN.match(window)
        if t is None or t.lastindex == _BROKEN or (t.end() == len(window) and not whole):
            return end  # no sequence to go on with: the ESC is dropped, as before
        self._run(window[: t.end()], 0)
        return end + t.end() - 1

    def _dispatch_csi(
        self, params: str, inter: str, final: str,
        csi: dict[str, Callable[[tuple[int, ...]], None]],
    ) -> None:
        prefix = ""
        if params and params[0] in "<=>?":
            prefix = params[0]
            params = params[1:]
        if final == "m" and not inter and not prefix:
            self._op_sgr(params, "")
            return
        if final != "b":
            self.last_char = ""
        handler = csi.get(prefix + inter + final)
        if handler is None:
            return
        values = _PARAMS.get(params)
        if values is None:
            values = _parse_params(params)
            if len(_PARAMS) > 4096:
                _PARAMS.clear()
            _PARAMS[params] = values
        if values is not _MALFORMED:  # (else ignored, like xterm)
            handler(values)

    def unfinished_input(self) -> bytes:
        """The input not acted on yet: an incomplete escape sequence and the first bytes of
        an incomplete UTF-8 character. A redraw ends with them, so that the client's parser
        is where ours is when the rest arrives."""
        buffered: bytes = self._decoder.getstate()[0]
        return self._held.encode("utf-8", "replace") + buffered

    def flush(self) -> None:
        """Drop an incomplete escape sequence held back waiting for its end."""
        self._held = ""
