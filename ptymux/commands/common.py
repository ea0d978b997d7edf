"""What several commands share on the client side: the config, detach keys, the terminal."""

from __future__ import annotations

import os

from ptymux import protocol as p
from ptymux.client.connection import ClientError
from ptymux.config import Config, load, parse_detach_keys

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ptymux.client.connection import Connection
    from ptymux.paths import ServerPaths


class UsageError(ClientError):
    """A command used wrongly (a bad option value, a name too long): exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=2)


def config() -> Config:
    return load()


def detach_keys(args: argparse.Namespace, cfg: Config) -> bytes:
    spec = getattr(args, "detach_keys", None) or cfg.detach_keys
    return parse_detach_keys(spec)


def check_nesting(paths: ServerPaths) -> None:
    """Attaching from inside a session of the same server would feed it its own output."""
    inside = os.environ.get("PTYMUX", "")
    if inside and inside.split(",")[0] == paths.socket:
        raise ClientError(
            "sessions should be nested with care, unset PTYMUX to force"
            " (or use 'new -d' to create a session without attaching)"
        )


def need_terminal() -> tuple[int, int]:
    from ptymux.client.attach import terminal_size

    if not (os.isatty(0) and os.isatty(1)):
        raise ClientError("attaching needs a terminal (stdin and stdout must be a tty)")
    return terminal_size(0)


def attach_loop(conn: Connection, request: Callable[[bool], p.Message], keys: bytes) -> int:
    from ptymux.client.attach import run_attached

    return run_attached(conn, request, keys)


def unexpected() -> ClientError:
    return ClientError("unexpected reply from the server")
