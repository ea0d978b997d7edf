"""Ended sessions' exit statuses, kept in the state directory until ``wait`` reads them.

``ptymux new -d -s job -- make && ptymux wait -t job`` must work whenever ``wait`` runs:
while the program runs, after it ended, and after its end stopped the server (the server
exits with its last session). So the server appends each ended session's status to a file
beside its log (``server-NAME.ended``, JSON lines), and ``wait`` takes the record out when it
reads it, from the server or, with no server running, from the file itself. ``ls -a`` shows
the records not read yet. At most MAX_RECORDS are kept (the oldest go first): sessions
nobody waits for must not grow the file for ever.
"""

from __future__ import annotations

import contextlib
import json
import os

from ptymux.protocol import EndedInfo

MAX_RECORDS = 1000
COMPACT_SIZE = 256 << 10  # bytes of file (~2500 records) before it is rewritten to the last
#                           MAX_RECORDS

def exit_code(status: int | None, signal: int | None, unknown: int = 1) -> int:
    """What a waiting client exits with: the status, or 128 + the signal (as a shell
    does); 1 for what is not an exit status a process can have, ``unknown`` for neither."""
    code = status if signal is None else 128 + signal
    if code is None:
        return unknown
    return code if 0 <= code <= 255 else 1


def describe(status: int | None, signal: int | None) -> str:
    """``status 3`` or ``signal SIGTERM``, as ptymux says how a program ended."""
    if signal is not None:
        import signal as signals

        try:
            return f"signal {signals.Signals(signal).name}"
        except ValueError:
            return f"signal {signal}"
    return f"status {status}"


def read(path: str) -> list[EndedInfo]:
    """The records in the file, oldest first, at most MAX_RECORDS, the newest of each
    (id, name) (lines that are not records are skipped: the file is ours, but a torn write
    or a hand edit must not stop ``wait``)."""
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    latest: dict[tuple[int, str], EndedInfo] = {}
    for line in lines:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            raw = json.loads(line)
            record = EndedInfo(
                id=int(raw["id"]), name=str(raw["name"]), command=str(raw["command"]),
                status=None if raw["status"] is None else int(raw["status"]),
                signal=None if raw["signal"] is None else int(raw["signal"]),
                ended=float(raw["ended"]),
            )
            latest.pop((record.id, record.name), None)
            latest[(record.id, record.name)] = record
    return list(latest.values())[-MAX_RECORDS:]


def _write(path: str, records: list[EndedInfo]) -> None:
    """Replace the file atomically (a temp file renamed over it), 0600."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        for record in records:
            f.write(json.dumps(record._asdict()) + "\n")
    os.replace(tmp, path)


def add(path: str, record: EndedInfo) -> None:
    """Keep ``record`` (a session ended): appended, one line; the file is rewritten to its
    last MAX_RECORDS only once it passes COMPACT_SIZE."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(record._asdict()) + "\n")
        size = f.tell()
    if size > COMPACT_SIZE:
        _write(path, read(path))


def matches(record: EndedInfo, target: str) -> bool:
    """A target names an ended session by its id (``N`` or ``$N``) or its exact name."""
    digits = target[1:] if target.startswith("$") else target
    if digits.isascii() and digits.isdigit():
        return int(digits) == record.id
    return record.name == target


def take(path: str, target: str) -> EndedInfo | None:
    """Read and remove the newest record ``target`` names (None if there is none)."""
    records = read(path)
    for i in range(len(records) - 1, -1, -1):
        if matches(records[i], target):
            found = records.pop(i)
            with contextlib.suppress(OSError):
                _write(path, records)
            return found
    return None
