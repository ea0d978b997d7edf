"""Key bindings on the keyboard stream, with docker's rule: never lose a key.

While a session is attached, only the configured sequences (Ctrl-P Ctrl-Q to detach, Ctrl-P
Ctrl-O for the switcher, whatever the config adds) are taken out of what the user types.
A partly typed sequence is held back, with no timeout; a key that breaks the match sends the
held keys and itself on, whole. So Ctrl-P followed by anything that is not a binding reaches
the program as both keys, Ctrl-P Ctrl-P included: people type Ctrl-P all day (previous
history in bash and emacs, completion in vim).

The matcher runs where the keys are read: in the server when it holds the passed terminal,
in the client when keys travel as frames.
"""

from __future__ import annotations

# What a binding can do. ``detach`` is handled by whoever reads the keys; every other action
# is the client's (the server hands it the terminal back and names the action).
ACTIONS: dict[str, str] = {
    "detach": "detach from the session",
    "switcher": "open the session switcher",
    "next-session": "switch to the next session (by id)",
    "previous-session": "switch to the previous session (by id)",
    "last-session": "switch to the most recently used other session",
    "new-session": "create a session and switch to it",
    "help": "show the key bindings (in the switcher)",
}
MAX_BINDINGS = 32


class KeyMatcher:
    """Finds bindings (byte sequences) in keyboard input, passing every other byte on."""

    def __init__(self, bindings: dict[bytes, str]) -> None:
        if not bindings or any(not seq for seq in bindings):
            raise ValueError("a binding needs at least one key")
        self.bindings = dict(bindings)
        self._prefixes = {seq[:i] for seq in bindings for i in range(1, len(seq))}
        self._first = bytes(sorted({seq[0] for seq in bindings}))
        self._held = b""  # the start of a binding typed so far

    def feed(self, data: bytes) -> tuple[bytes, str | None, bytes]:
        """Filter keyboard bytes: (bytes for the program, the action of a binding completed
        in ``data`` or None, the bytes that came after that binding in ``data``).

        The caller acts on the binding and then decides what the rest is for (the switcher
        it opens, or the program again through another ``feed``)."""
        if not self._held and not any(b in data for b in self._first):
            return data, None, b""  # the common case: no binding in sight
        out = bytearray()
        for i, b in enumerate(data):
            held = self._held + bytes((b,))
            action = self.bindings.get(held)
            if action is not None:
                self._held = b""
                return bytes(out), action, data[i + 1 :]
            if held in self._prefixes:
                self._held = held
            else:
                out += held  # not a binding: every key of it goes on, in order
                self._held = b""
        return bytes(out), None, b""

    @property
    def held(self) -> bytes:
        """The keys held as the start of a binding, left where they are."""
        return self._held

    def take_held(self) -> bytes:
        """The keys held as the start of a binding (for the program, when reading stops)."""
        held, self._held = self._held, b""
        return held


def check_bindings(bindings: dict[bytes, str]) -> str:
    """'' if ``bindings`` work together, else one line saying which two clash: a sequence
    that starts another one would hide it."""
    if len(bindings) > MAX_BINDINGS:
        return f"too many key bindings: at most {MAX_BINDINGS}"
    for seq, action in bindings.items():
        for other, other_action in bindings.items():
            if other != seq and other.startswith(seq):
                from ptymux.config import describe_keys

                return (f"{describe_keys(seq)} ({action}) starts {describe_keys(other)}"
                        f" ({other_action}): the longer one could never be typed")
    return ""
