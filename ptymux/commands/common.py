"""What several commands share on the client side: the config, detach keys, the terminal."""

from __future__ import annotations

import os

from ptymux import protocol as p
from ptymux.client.connection import ClientError, starting_point
from ptymux.config import Config, bindings, emulator, load

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ptymux.client.attach import AttachSettings
    from ptymux.client.connection import Connection
    from ptymux.paths import ServerPaths


class UsageError(ClientError):
    """A command used wrongly (a bad option value, a name too long): exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=2)


def config() -> Config:
    return load()


def attach_settings(args: argparse.Namespace, cfg: Config, host: str = "") -> AttachSettings:
    """How an attaching command's client behaves: the bindings (checked here, before
    anything is attached or created), the config's switches, and how to make a session
    the way ``new`` here would (the switcher's "create"). With ``host`` (-H) the server is
    there: the title and the switcher say so, and a session created from the switcher
    gets that host's environment and directory, as ``new`` does (ptymux proxy's)."""
    from ptymux.client.attach import AttachSettings

    keys = bindings(cfg, getattr(args, "detach_keys", None))
    model = emulator(cfg)
    where = ""
    if host:
        from ptymux.client.remote import parse_host

        where = str(parse_host(host))

    def new_session() -> p.NewSession:
        from ptymux.client.attach import terminal_size

        env, cwd = starting_point(bool(host))
        env["TERM"] = cfg.term
        cols, rows = terminal_size(0)
        return p.NewSession(argv=[], cwd=cwd, env=env, cols=cols,
                            rows=rows, history=cfg.history, detached=True, emulator=model,
                            remote=bool(host))

    title = f"ptymux: {where}: " if where else "ptymux: "
    return AttachSettings(
        bindings=keys,
        scrollback=cfg.scrollback,
        switcher_scrollback=cfg.switcher_scrollback,
        exit_on_close=cfg.exit_on_close,
        title=title[: p.MAX_NAME] if cfg.set_title else "",
        preview=cfg.preview,
        where=where,
        new_session=new_session,
    )


def check_keys_option(spec: str) -> None:
    from ptymux.config import ConfigError, parse_keys

    try:
        parse_keys(spec)
    except ConfigError as e:
        raise ConfigError(f"--detach-keys: {e}") from None


def check_nesting(paths: ServerPaths) -> None:
    """Attaching from inside a session of the same server would feed it its own output."""
    inside = os.environ.get("PTYMUX", "")
    if inside and not paths.host and inside.split(",")[0] == paths.socket:
        raise ClientError(
            "sessions should be nested with care, unset PTYMUX to force"
            " (or use 'new -d' to create a session without attaching)"
        )


def need_terminal() -> tuple[int, int]:
    from ptymux.client.attach import terminal_size

    if not (os.isatty(0) and os.isatty(1)):
        raise ClientError("attaching needs a terminal (stdin and stdout must be a tty)")
    return terminal_size(0)


def attach_loop(conn: Connection, request: Callable[[bool], p.Message],
                settings: AttachSettings) -> int:
    """Attach, and say (before and after) when the server runs another ptymux: the note
    written before is drawn over by the session's screen at once, so it is written again
    under the ``[detached ...]`` line, where the user reads it."""
    from ptymux.client.attach import run_attached

    version_note(conn.server_software)
    try:
        return run_attached(conn, request, settings)
    finally:
        version_note(_software_now(conn))


def _software_now(conn: Connection) -> str:
    """The server's version at the end of an attachment that began with another than the
    client's: an ``upgrade-server`` meanwhile has changed it ('' if the server is gone)."""
    from ptymux import __version__

    if (conn.server_software in ("", f"ptymux {__version__}")
            or "server-info" not in (conn.server_commands or ())):
        return conn.server_software
    try:
        info = conn.request(p.ServerInfo(), timeout=2.0)
    except (ClientError, OSError):
        return ""
    return info.software if isinstance(info, p.ServerInfoResult) else ""


def unexpected() -> ClientError:
    return ClientError("unexpected reply from the server")


def version_note(software: str) -> None:
    """One line on stderr when the server runs another ptymux than this client (``ls``,
    ``attach``, an attaching ``new``): after ``pip install -U`` the old server runs on until
    it is upgraded; a server newer than the client means this client is the old one."""
    import sys

    from ptymux import __version__
    from ptymux.printable import printable

    ours = f"ptymux {__version__}"
    if not software or software == ours:
        return
    theirs = _release(software)
    if theirs is not None and theirs > (_release(ours) or theirs):
        print(f"ptymux: the server runs {printable(software)}, newer than this client"
              f" ({ours}): upgrade this ptymux (pip install -U ptymux)", file=sys.stderr)
        return
    print(f"ptymux: the server runs {printable(software)}, this client is {ours}:"
          " ptymux upgrade-server", file=sys.stderr)


def _release(software: str) -> tuple[int, ...] | None:
    """(0, 4, 1) from "ptymux 0.4.1" (and "ptymux 0.4.1.dev2"); None if it is not that."""
    name, _, version = software.partition(" ")
    numbers = []
    for part in version.split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) if name == "ptymux" and numbers else None
