"""The command table: every ptymux command, one module each (tmux's ``cmd-*.c``).

Each module holds one ``Command`` entry (``entry.py``): names, arguments, help and the code
that runs it. The CLI parser (``ptymux.cli``), ``ptymux help`` and the usage table in
docs/usage.md come from this table. Modules import only what the client needs at start-up;
heavier imports wait inside their ``run``.
"""

from __future__ import annotations

from ptymux.commands import (
    attach_session,
    capture_pane,
    completions_cmd,
    has_session,
    help,
    kill_server,
    kill_session,
    list_sessions,
    new_session,
    rename_session,
    send_keys,
    start_server,
    wait,
)
from ptymux.commands.entry import Arg, Command

TABLE: tuple[Command, ...] = (
    new_session.ENTRY,
    attach_session.ENTRY,
    list_sessions.ENTRY,
    kill_session.ENTRY,
    kill_server.ENTRY,
    capture_pane.ENTRY,
    has_session.ENTRY,
    rename_session.ENTRY,
    send_keys.ENTRY,
    wait.ENTRY,
    start_server.ENTRY,
    completions_cmd.ENTRY,
    help.ENTRY,
)

# What the server answers (its hello lists these names to the client).
SERVED = {entry.name: entry.serve for entry in TABLE if entry.serve is not None}

_BY_NAME = {name: entry for entry in TABLE for name in (entry.name, *entry.aliases)}


def lookup(name: str) -> Command | None:
    """The command called ``name`` or by that alias."""
    return _BY_NAME.get(name)


def nearest(name: str) -> str:
    """``"; did you mean 'ls'?"`` for a mistyped command, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


__all__ = ["SERVED", "TABLE", "Arg", "Command", "lookup", "nearest"]
