"""``show-config``: the effective configuration (the file, the defaults, the bindings)."""

from __future__ import annotations

from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    """Print it as TOML a config file could hold. A binding that cannot be used is shown
    as a comment (and makes the exit status 1), so this is also the way to check a file."""
    from ptymux.commands.common import config
    from ptymux.config import ConfigError, bindings, show

    cfg = config()
    print(show(cfg, args.detach_keys), end="")
    try:
        bindings(cfg, args.detach_keys)
    except ConfigError:
        return 1
    return 0


ENTRY = Command(
    name="show-config",
    aliases=("config",),
    help="print the effective configuration, key bindings included",
    args=(Arg(("--detach-keys",), "detach_keys", "as attach --detach-keys would change it",
              metavar="SPEC"),),
    run=run,
    needs_server=False,
)
