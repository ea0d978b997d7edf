"""``send-keys``: type into a session, with tmux's key names (``Enter``, ``C-c``, ``Up``…)."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import TARGET_HELP, Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    from ptymux.commands.common import UsageError
    from ptymux.keynames import KeyNameError, keys_to_bytes

    try:  # said before anything is sent (the server checks again, with the program's modes)
        keys_to_bytes(args.keys, literal=args.literal, hex_bytes=args.hex)
    except KeyNameError as e:
        raise UsageError(str(e)) from None
    api.Server(paths=paths).send_keys(args.target, args.keys, args.literal, args.hex)
    return 0


def serve(conn: Connection, rid: int, args: p.SendKeys) -> None:
    """Encoded here, not in the client: an arrow is ESC O A or ESC [ A as the program's
    cursor-key mode says, which only the server's model knows."""
    from ptymux.keynames import KeyNameError, keys_to_bytes

    session = conn.find(rid, args.target)
    if session is None:
        return
    cursor_app, keypad_app = session.screen().key_modes()
    try:
        data = keys_to_bytes(args.keys, literal=args.literal, hex_bytes=args.hex,
                             keypad_app=keypad_app, cursor_app=cursor_app)
    except KeyNameError as e:
        conn.error(rid, str(e), "usage")
        return
    session.write(data)
    conn.reply(rid, p.Ok())


ENTRY = Command(
    name="send-keys",
    aliases=("send",),
    help="type keys into a session (tmux key names: Enter, C-c, M-x, Up, F1, BSpace …)",
    args=(
        Arg(("-t",), "target", TARGET_HELP, metavar="TARGET", target=True),
        Arg(("-l",), "literal", "send every word as text, no key names", kind="flag"),
        Arg(("-H",), "hex", "each word is one byte in hex (1b, 0d …)", kind="flag"),
        Arg(("keys",), "keys", "key names and text", kind="words", metavar="KEY"),
    ),
    run=run,
    serve=serve,
)
