"""Detach-key matching on the keyboard stream (docker's semantics, plus a way to type the
prefix itself).

A partly typed sequence is held back with no timeout; a key that breaks the match sends the
held keys and itself on. Typing the first key twice sends it once, so Ctrl-P Ctrl-P reaches
the program as one Ctrl-P.
"""

from __future__ import annotations


class DetachMatcher:
    def __init__(self, keys: bytes) -> None:
        if not keys:
            raise ValueError("empty detach key sequence")
        self.keys = keys
        self._held = 0  # how many keys of the sequence are matched so far

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Filter keyboard bytes: (bytes for the program, whether to detach now).

        Bytes after a completed sequence in the same read are dropped with the detach.
        """
        keys = self.keys
        if not self._held and keys[0] not in data:
            return data, False  # the common case: no prefix in sight
        out = bytearray()
        for b in data:
            if b == keys[self._held]:
                self._held += 1
                if self._held == len(keys):
                    self._held = 0
                    return bytes(out), True
            elif self._held == 1 and b == keys[0]:
                out.append(b)  # prefix typed twice: one literal prefix
                self._held = 0
            elif self._held:
                out += keys[: self._held]
                out.append(b)
                self._held = 0
            else:
                out.append(b)
        return bytes(out), False
