"""A well-formed command line, parsed from the command table without argparse.

Scripts call ptymux in loops, and argparse (with ``re``) is ~8 ms of every call. This parses
what argparse would accept, the way argparse would, for the common forms: global
``-L``/``-S``/``-H``, then the command, its options (``-t X``, ``-tX``, ``--log FILE``,
``--log=FILE``, flags, combined flags ``-dA``, repeated options) and its positionals.
Anything else — ``-h``, ``-V``, an unknown option, a missing or odd value, a missing
required option — returns None, and the argparse parser (``ptymux.parser``) parses it again
and says what is wrong in its words. A test compares both parsers on a corpus of command lines.
"""

from __future__ import annotations

from types import SimpleNamespace

from ptymux.commands import lookup

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.commands.entry import Arg, Command


def parse(words: list[str]) -> argparse.Namespace | None:
    """The namespace argparse would make of ``words`` (with ``entry`` set), or None."""
    label = socket = host = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-L", "-S", "-H"):
            if i + 1 >= len(words) or words[i + 1].startswith("-"):
                return None
            value = words[i + 1]
            i += 2
        elif word[:2] in ("-L", "-S", "-H") and len(word) > 2:
            value = word[2:]
            i += 1
        else:
            break
        if word.startswith("-L"):
            label = value
        elif word.startswith("-H"):
            host = value
        else:
            socket = value
    rest = words[i:]
    if not rest:
        rest = ["new"]  # no command: new
    entry = lookup(rest[0])
    if entry is None:
        return None
    values = _command_args(entry, rest[1:])
    if values is None:
        return None
    namespace = SimpleNamespace(label=label, socket=socket, host=host, command_name=rest[0],
                                entry=entry, **values)
    return namespace  # type: ignore[return-value]


def _defaults(entry: Command) -> dict[str, object]:
    values: dict[str, object] = {}
    for arg in entry.args:
        values[arg.dest] = {"flag": False, "rest": [], "words": []}.get(arg.kind)
    return values


def _command_args(entry: Command, words: list[str]) -> dict[str, object] | None:
    options = {name: arg for arg in entry.args for name in arg.names if name.startswith("-")}
    positionals = [arg for arg in entry.args if not arg.names[0].startswith("-")]
    values = _defaults(entry)
    seen: set[str] = set()
    loose: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        rest = next((a for a in positionals if a.kind == "rest"), None)
        if rest is not None and (word == "--" or not word.startswith("-") or word == "-"):
            values[rest.dest] = words[i:]
            break
        if word == "--" or word == "-" or not word.startswith("-"):
            if word == "--":
                return None  # (argparse's meaning for other commands: leave it to it)
            loose.append(word)
            i += 1
            continue
        taken = _option(word, words[i + 1] if i + 1 < len(words) else None, options, values)
        if taken is None:
            return None
        seen.update(taken[1])
        i += taken[0]
    if any(arg.required and arg.dest not in seen for arg in options.values()):
        return None
    return values if _positionals(positionals, loose, values) else None


def _option(word: str, following: str | None, options: dict[str, Arg],
            values: dict[str, object]) -> tuple[int, list[str]] | None:
    """Apply the option ``word`` (and maybe its value, ``following``): (words used, dests
    set), or None if argparse should judge it."""
    if word.startswith("--"):
        name, eq, inline = word.partition("=")
        arg = options.get(name)
        if arg is None:
            return None
        if arg.kind == "flag":
            if eq:
                return None
            values[arg.dest] = True
            return 1, [arg.dest]
        if eq:
            return (1, [arg.dest]) if _store(arg, inline, values) else None
        return (2, [arg.dest]) if _store(arg, following, values) else None
    used: list[str] = []
    for k in range(1, len(word)):  # -dA, -tX, -d -t X
        arg = options.get("-" + word[k])
        if arg is None:
            return None
        used.append(arg.dest)
        if arg.kind == "flag":
            values[arg.dest] = True
            continue
        inline = word[k + 1:]
        if inline:
            return (1, used) if _store(arg, inline, values) else None
        return (2, used) if _store(arg, following, values) else None
    return 1, used


def _store(arg: Arg, value: str | None, values: dict[str, object]) -> bool:
    if value is None or (value.startswith("-") and not _negative_number(value)):
        return False  # argparse would refuse it, or read it as an option
    if arg.kind == "int":
        try:
            values[arg.dest] = int(value)
        except ValueError:
            return False
    elif arg.kind == "many":
        current = values.get(arg.dest)
        values[arg.dest] = [*current, value] if isinstance(current, list) else [value]
    else:
        values[arg.dest] = value
    return True


def _negative_number(text: str) -> bool:
    digits = text[1:]
    return digits.replace(".", "", 1).isdigit() and digits.isascii()


def _positionals(positionals: list[Arg], loose: list[str], values: dict[str, object]) -> bool:
    for arg in positionals:
        if arg.kind == "rest":
            continue
        if arg.kind == "words":
            if not loose:
                return False
            values[arg.dest], loose = loose, []
        elif arg.kind == "positional":
            if not loose:
                return False
            values[arg.dest] = loose.pop(0)
        elif arg.kind == "optional":
            values[arg.dest] = loose.pop(0) if loose else None
    return not loose
