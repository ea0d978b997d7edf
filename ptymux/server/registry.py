"""Sessions by id and name, and tmux-like target resolution for ``-t``."""

from __future__ import annotations

from ptymux.printable import printable
from ptymux.protocol import MAX_NAME

TYPE_CHECKING = False  # (see ptymux/records.py): a new server checks names before the
if TYPE_CHECKING:      # session module (asyncio) is imported: server/spawn.py
    from ptymux.server.session import Session


class TargetError(Exception):
    """No session (or more than one) matches a target, or a name is not allowed; the message
    is for the user, ``code`` for scripts (protocol.ERROR_CODES)."""

    def __init__(self, message: str, code: str = "no-session") -> None:
        super().__init__(message)
        self.code = code


class Registry:
    def __init__(self) -> None:
        self._sessions: dict[int, Session] = {}
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._sessions.values(), key=lambda s: s.id))

    @property
    def next_id(self) -> int:
        """The id the next session gets. Ids count up from 0 and are never reused while the
        server lives; only a session that was created takes one (a failed ``new`` does not)."""
        return self._next_id

    def reserve(self, next_id: int) -> None:
        """Ids below ``next_id`` are taken (a hand-over: the old server gave them out)."""
        self._next_id = max(self._next_id, next_id)

    def rename(self, session: Session, name: str) -> None:
        """Give ``session`` the name ``name`` (TargetError if it may not have it)."""
        if name != session.name:
            self.check_name(name)
            session.name = name

    def check_name(self, name: str) -> None:
        if len(name) > MAX_NAME:
            raise TargetError(f"bad session name: longer than {MAX_NAME} characters", "usage")
        if not name or not name.isprintable() or any(c in name for c in " \t:."):
            raise TargetError(
                f"bad session name '{printable(name)}': use printable characters without"
                " spaces, ':' or '.'", "usage"
            )
        if _is_id(name) or (name.startswith("$") and _is_id(name[1:])):
            raise TargetError(f"bad session name '{name}': it would read as a session id", "usage")
        if any(s.name == name for s in self._sessions.values()):
            raise TargetError(f"duplicate session: {name}", "exists")

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session
        self._next_id = max(self._next_id, session.id + 1)

    def remove(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def most_recent(self) -> Session:
        if not self._sessions:
            raise TargetError("no sessions")
        return max(self._sessions.values(), key=lambda s: s.last_used)

    def find(self, target: str | None) -> Session:
        """tmux's order: ``$id`` or id, exact name, unique name prefix, unique fnmatch pattern
        (more than one match is an error naming them). ``None`` means the most recently used
        session."""
        if target is None:
            return self.most_recent()
        sessions = list(self._sessions.values())
        digits = target[1:] if target.startswith("$") else target
        if _is_id(digits) and int(digits) in self._sessions:
            return self._sessions[int(digits)]
        import fnmatch  # (not at the top: a new server checks names before it has re)

        for matcher in (
            lambda s: s.name == target,
            lambda s: s.name.startswith(target),
            lambda s: fnmatch.fnmatchcase(s.name, target),
        ):
            found = [s for s in sessions if matcher(s)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(sorted(s.name for s in found)[:10])
                more = f" and {len(found) - 10} more" if len(found) > 10 else ""
                raise TargetError(f"ambiguous target '{target}': {names}{more}", "ambiguous")
        raise TargetError(f"can't find session: {target}")


def _is_id(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes '²' (which int() refuses) and '١'."""
    return text.isascii() and text.isdigit()
