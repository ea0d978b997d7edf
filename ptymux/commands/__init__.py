"""The command table: every ptymux command, one module each (tmux's ``cmd-*.c``).

Each module holds one ``Command`` entry (``entry.py``): names, arguments, help and the code
that runs it. The CLI parser (``ptymux.cli``), ``ptymux help``, the server's commands, the
completions, the man page and the usage table in docs/usage.md come from this table.

A command runs with only its own module imported (``lookup``): a script calling
``has-session`` in a loop should not pay for thirteen modules it does not use. ``TABLE`` and
``SERVED`` import them all, when first asked for. ``NAMES`` says which module has which name
or alias; a test checks it against the entries.
"""

from __future__ import annotations

from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from ptymux.commands.entry import Serve

# The modules, in the order ``ptymux help`` lists their commands.
MODULES = (
    "new_session", "attach_session", "list_sessions", "kill_session", "kill_server",
    "capture_pane", "has_session", "rename_session", "send_keys", "wait", "list_clients",
    "detach_client", "set_size_policy", "start_server", "upgrade_server", "server_info",
    "proxy",
    "show_config", "completions_cmd", "help",
)
NAMES = {
    "new": "new_session", "new-session": "new_session",
    "attach": "attach_session", "attach-session": "attach_session", "a": "attach_session",
    "at": "attach_session",
    "ls": "list_sessions", "list-sessions": "list_sessions",
    "kill-session": "kill_session", "kill": "kill_session",
    "kill-server": "kill_server",
    "capture": "capture_pane", "capture-pane": "capture_pane",
    "has-session": "has_session", "has": "has_session",
    "rename-session": "rename_session", "rename": "rename_session",
    "send-keys": "send_keys", "send": "send_keys",
    "wait": "wait", "wait-session": "wait",
    "list-clients": "list_clients", "lsc": "list_clients",
    "detach-client": "detach_client", "detach": "detach_client",
    "set-size-policy": "set_size_policy", "size-policy": "set_size_policy",
    "start-server": "start_server", "start": "start_server",
    "upgrade-server": "upgrade_server",
    "server-info": "server_info", "info": "server_info",
    "proxy": "proxy",
    "show-config": "show_config", "config": "show_config",
    "completions": "completions_cmd",
    "help": "help",
}


def _entry(module: str) -> Command:
    loaded = __import__(f"ptymux.commands.{module}", fromlist=["ENTRY"])
    entry: Command = loaded.ENTRY
    return entry


def lookup(name: str) -> Command | None:
    """The command called ``name`` or by that alias (only its module is imported)."""
    module = NAMES.get(name)
    return _entry(module) if module else None


def nearest(name: str) -> str:
    """``"; did you mean 'ls'?"`` for a mistyped command, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(NAMES), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def __getattr__(name: str) -> object:
    """``TABLE`` (every entry, in help's order) and ``SERVED`` (command -> the server's
    code), made on first use."""
    if name == "TABLE":
        table = tuple(_entry(module) for module in MODULES)
        globals()["TABLE"] = table
        return table
    if name == "SERVED":
        served: dict[str, Serve] = {
            e.name: e.serve for e in __getattr__("TABLE") if e.serve is not None  # type: ignore[attr-defined]
        }
        globals()["SERVED"] = served
        return served
    raise AttributeError(name)


if TYPE_CHECKING:
    TABLE: tuple[Command, ...]
    SERVED: dict[str, Serve]

__all__ = ["MODULES", "NAMES", "SERVED", "TABLE", "Arg", "Command", "lookup", "nearest"]
