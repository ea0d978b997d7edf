"""The emulator interface the rest of ptymux uses: one virtual screen per session.

The server feeds a session's output into its model; the model answers "what does the
screen look like" (for capture) and "which bytes repaint a real terminal into this state"
(for a client that attaches late, switches, or resizes). Which emulator library sits behind
it is known only inside ``ptymux.term``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


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
        The caller feeds the rest. The result equals feeding the consumed bytes."""
        from ptymux.term.skip import plan_skip

        first = data.find(b"\n") + 1
        if not first or first == len(data):
            return 0
        # Rows the model holds plus rows a cut can leave half overwritten, plus a margin.
        plan = plan_skip(data, first, self.history_limit + 2 * self.rows + 1)
        if plan is None:
            return 0
        self.feed(bytes(data[:first]))  # may set a scroll region: check after it
        if not self._may_skip():
            return first
        cut, pen = plan
        self.feed(pen)
        return cut

    def _may_skip(self) -> bool:
        """Whether lines scroll the whole screen (no scroll region): skipping needs that."""
        return False

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

    def take_replies(self) -> bytes:
        """Answers to terminal queries seen since the last call, for the pty when no client
        is attached to answer them. Models that do not answer return b''."""
        return b""
