"""The emulator interface the rest of ptymux uses: one virtual screen per session.

The server feeds a session's output into its model; the model answers "what does the
screen look like" (for capture) and "which bytes repaint a real terminal into this state"
(for a client that attaches late, switches, or resizes). Which emulator library sits behind
it is known only inside ``ptymux.term``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ptymux.term.skip import LineRule


class ScreenModel(ABC):
    """A virtual terminal of ``cols`` x ``rows`` with scrollback. Never raises from ``feed``."""

    cols: int
    rows: int
    history_limit: int

    @abstractmethod
    def feed(self, data: bytes) -> None:
        """Consume program output. Must contain every emulator error and keep going."""

    def skip(self, data: bytes | bytearray) -> int:
        """Consume a prefix of a large ``data`` backlog cheaply, when its lines would scroll
        out of the history anyway (see ``skip.py``); return how many bytes were consumed.
        The caller feeds the rest. The result equals feeding the consumed bytes, also for
        ``history_total``: the skipped lines went through the history."""
        from ptymux.term.skip import carry_pen, count_lines, plan_skip

        # The first line is fed as usual, up to a CR LF: the skipped part then starts in
        # column 0 with no wrap pending, as it would (count_lines relies on it).
        first = data.find(b"\r\n") + 2
        if first < 2 or first == len(data):
            return 0
        # Rows the model holds plus rows a cut can leave half overwritten, plus a margin;
        # a long line counts as the rows it wraps to (at the width the skipped part is
        # drawn at: the first line may change it, the skippable part cannot).
        keep = self.history_limit + 2 * self.rows + 1
        wraps_at = self._wraps_at()
        plan = plan_skip(data, first, keep, wraps_at)
        if plan is None:
            return 0
        self.feed(bytes(data[:first]))  # may set a scroll region: check after it
        if not self._may_skip():
            return first
        if self._wraps_at() != wraps_at:
            plan = plan_skip(data, first, keep, self._wraps_at())
            if plan is None:
                return first
        cut, pen = plan
        rule = self._line_rule()
        if rule is not None:
            end, lines = count_lines(data, first, cut, rule)
            if end < cut:  # a line it could not count: skip less
                if end <= first:
                    return first
                cut, pen = end, carry_pen(data, first, end)
            self._skipped(lines)
        self.feed(pen)
        return cut

    def _wraps_at(self) -> int:
        """The width lines autowrap at (at most: margins make it less), 0 if they do not
        or it is not known: ``plan_skip`` then counts a long line as one row."""
        rule = self._line_rule()
        return rule.cols if rule is not None and rule.autowrap else 0

    def _may_skip(self) -> bool:
        """Whether lines scroll the whole screen (no scroll region) and the parser is not
        inside a sequence: skipping needs that."""
        return False

    def _line_rule(self) -> LineRule | None:
        """How to count the lines a skipped part scrolls into the history (``skip.py``), or
        None when they do not go there (alternate screen, no history)."""
        return None

    def _skipped(self, lines: int) -> None:
        """``lines`` lines were skipped on their way through the history: count them.
        (Called only where ``_line_rule`` gave a rule.)"""
        raise NotImplementedError

    @abstractmethod
    def resize(self, cols: int, rows: int) -> None:
        """Follow the pty to a new size."""

    @abstractmethod
    def redraw(self) -> bytes:
        """Bytes that bring a terminal of the same size into this model's state."""

    @abstractmethod
    def cursor(self) -> tuple[int, int]:
        """Cursor (x, y), 0-based, within the visible screen."""

    @abstractmethod
    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        """Rows as text (tmux ``capture-pane -p`` meanings: 0 is the top visible row,
        negative rows are history; ``escapes`` keeps SGR attributes; ``join`` joins wrapped
        rows)."""

    @property
    @abstractmethod
    def history_total(self) -> int:
        """How many lines have entered the main screen's history since the model was
        created. Lines later dropped from the front of a full history, or cleared (``CSI 3
        J``), still count; rows a scroll region scrolls, the alternate screen, and a model
        without history (``history_limit`` 0) add nothing. Rows a resize pushes into the
        history count. It grows but for one case: a model that reflows (vt) counts the
        history's rows at the current width, so a narrower window adds rows and a wider or
        taller one takes some back (narrowing then widening back gives the same count). The
        server keeps it per terminal at detach, so that ``scrollback`` writes only what that
        terminal has not seen (none while the count is below the terminal's mark; after a
        resize, a terminal may get a few rows twice or miss a few)."""

    @abstractmethod
    def scrollback(self, since: int | None, limit: int) -> bytes:
        """Bytes for the user's terminal, written just before ``redraw``, that put into its
        own scrollback the history lines added after ``history_total`` was ``since`` (None:
        all), at most the ``limit`` newest; b"" when ``limit`` <= 0 or nothing is new.

        The terminal is assumed on its main screen, of the model's size. The bytes reset
        attributes, go to the bottom row and write each of those history lines and then the
        main screen's rows (also when the program is on the alternate screen), each
        introduced by ``\\r\\n`` so that each scrolls the terminal one line up; every line
        has its SGR and ends reset, trailing blanks trimmed, none wider than the terminal.
        See ``scrollback.py``."""

    @property
    @abstractmethod
    def title(self) -> str:
        """The window title the program set (OSC 0/2), or ''."""

    @abstractmethod
    def leave(self) -> bytes:
        """Bytes that take a terminal mirroring this model back to its main screen with no
        origin mode or scroll region, the cursor staying where the user sees it. Sent to a
        client as it detaches (or its session ends); other modes the client resets itself."""

    def key_modes(self) -> tuple[bool, bool]:
        """(cursor keys in application mode (DECCKM), keypad in application mode (DECKPAM)):
        what ``send-keys`` encodes arrows and keypad keys for, as a terminal would. Models
        that do not track them say (False, False)."""
        return False, False

    @property
    def cwd(self) -> str:
        """The working directory the program last reported (OSC 7, as shells with
        integration do at each prompt): what ``#{pane_current_path}`` prefers to the
        foreground process's. '' when it never said, or the model does not track it."""
        return ""

    def prompts(self) -> list[int]:
        """Rows where prompts started (OSC 133 ; A), oldest first, as ``capture`` numbers
        them (0 the top visible row, negative the history), only those still held: so
        ``capture(start=prompts()[-1])`` starts at the last prompt. [] when none (or the
        model does not track them)."""
        return []

    def take_replies(self) -> bytes:
        """Answers to terminal queries seen since the last call, for the pty when no client
        is attached to answer them. Models that do not answer return b''."""
        return b""
