"""Exceptions an emulator model contains: counted, and logged without flooding the log.

A model must never take a session down (docs/architecture.md), so each catches what its
emulator raises; a bug must still show. ``count_error`` is what every such ``except`` calls.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("ptymux.term")

_LOGGED_AT = frozenset(10**k for k in range(10))


def count_error(owner: Any, where: str, logger: logging.Logger = log) -> None:
    """Count an exception the emulator contained (``owner.errors``) and log it, with its
    traceback, the 1st, 10th, 100th... time for this terminal: a bug shows in the log, a
    flood of them does not flood it. Call it from the ``except`` block."""
    owner.errors += 1
    n = owner.errors
    if n in _LOGGED_AT:
        logger.exception("terminal emulator error in %s (error %d of this terminal; logged"
                         " at the 1st, 10th, 100th...)", where, n)
