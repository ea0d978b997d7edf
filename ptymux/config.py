"""User configuration: defaults, the config file, key specs and bindings.

The config file is TOML at ``$PTYMUX_CONFIG`` (which must exist), else
``$XDG_CONFIG_HOME/ptymux/config.toml``, else ``~/.config/ptymux/config.toml``. Every key is
optional; see docs/configuration.md and contrib/config.toml. Keys are spelled with dashes
(``exit-on-close``); the underscore spelling of the first release (``detach_keys``) is
accepted too.

Bindings are checked only by the commands that attach (``bindings()``): a bad binding must
not break ``new -d`` or ``ls``, which read no keys.
"""

from __future__ import annotations

import os

from ptymux.protocol import EMULATORS, MAX_DETACH_KEYS, SIZE_POLICIES

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~3 ms
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ptymux.records import NamedTuple

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
DEFAULT_TERM = "xterm-256color"
DEFAULT_HISTORY = 2000
DEFAULT_SCROLLBACK = 1000
# The bindings everyone gets unless the config changes them (action -> key specs).
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "detach": (DEFAULT_DETACH_KEYS,),
    "switcher": ("ctrl-p,ctrl-o",),
}


class ConfigError(Exception):
    """A bad config file or option value; the message names the bad part."""


class Config(NamedTuple):
    term: str = DEFAULT_TERM
    history: int = DEFAULT_HISTORY
    emulator: str = "vt"  # the model of new sessions (ptymux.term); PTYMUX_EMULATOR wins
    scrollback: int = DEFAULT_SCROLLBACK  # history lines written to the terminal on attach
    exit_on_close: bool = False  # exit when the session ends, even if others are left
    set_title: bool = True  # set the terminal's title to "ptymux: NAME" while attached
    size_policy: str = "latest"  # new sessions' (SIZE_POLICIES); new --size-policy wins
    # -H (docs/remote.md): the ssh program with its options (PTYMUX_SSH wins), and the
    # command that runs ptymux on the other host, for its shell
    ssh_command: str = "ssh"
    remote_command: str = "ptymux"
    # [keys]: action -> key specs given in the file (the defaults fill in the rest)
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    preview: bool = True  # [switcher] preview: the highlighted session's screen
    switcher_scrollback: bool = False  # [switcher] scrollback: also when switching
    path: str = ""  # the file it was read from ('' if none)


# File key -> (Config field, type). [keys] and [switcher] are tables.
_TOP: dict[str, tuple[str, type]] = {
    "term": ("term", str),
    "history": ("history", int),
    "emulator": ("emulator", str),
    "scrollback": ("scrollback", int),
    "exit-on-close": ("exit_on_close", bool),
    "set-title": ("set_title", bool),
    "size-policy": ("size_policy", str),
    "ssh-command": ("ssh_command", str),
    "remote-command": ("remote_command", str),
}
_SWITCHER: dict[str, tuple[str, type]] = {
    "preview": ("preview", bool),
    "scrollback": ("switcher_scrollback", bool),
}
_KIND = {int: "an integer", str: "a string", bool: "true or false"}


def config_path() -> tuple[str, bool]:
    """(the config file's path, whether it was named explicitly: then it must exist)."""
    explicit = os.environ.get("PTYMUX_CONFIG")
    if explicit:
        return explicit, True
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "ptymux", "config.toml"), False


def load() -> Config:
    """Read the config file if there is one; unknown keys and wrong types are errors that
    name the file, the key and what is allowed."""
    path, explicit = config_path()
    try:
        with open(path, "rb") as f:
            import tomllib  # only when there is a file to parse

            try:
                raw: dict[str, Any] = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"config file {path}: {e}") from None
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                f"PTYMUX_CONFIG={path}: no such file (create it, or unset PTYMUX_CONFIG)"
            ) from None
        return Config()
    except OSError as e:
        raise ConfigError(f"config file {path}: {e.strerror or e}") from None
    return _parse(raw, path)


def _parse(raw: dict[str, Any], path: str) -> Config:
    where = f"config file {path}"
    values: dict[str, Any] = {"path": path}
    keys: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        name = key.replace("_", "-")
        if name == "detach-keys":  # the first release's spelling of [keys] detach
            keys["detach"] = (_str_value(value, where, key),)
        elif name == "keys":
            keys.update(_keys_table(value, where))
        elif name == "switcher":
            values.update(_table(value, _SWITCHER, where, "switcher."))
        elif name in _TOP:
            values.update(_table({key: value}, _TOP, where, ""))
        else:
            known = ", ".join([*_TOP, "keys", "switcher"])
            raise ConfigError(f"{where}: unknown key '{key}' (known: {known})")
    if "detach_keys" in raw and "detach-keys" in raw:
        raise ConfigError(f"{where}: detach_keys and detach-keys both set; keep one")
    values["keys"] = tuple(keys.items())
    cfg = Config(**values)
    if cfg.history < 0:
        raise ConfigError(f"{where}: history must be >= 0")
    if cfg.scrollback < 0:
        raise ConfigError(f"{where}: scrollback must be >= 0 (0 turns it off)")
    if cfg.emulator not in EMULATORS:
        raise ConfigError(f"{where}: emulator must be one of {', '.join(EMULATORS)}")
    if cfg.size_policy not in SIZE_POLICIES:
        raise ConfigError(f"{where}: size-policy must be one of {', '.join(SIZE_POLICIES)}")
    if not cfg.term:
        raise ConfigError(f"{where}: term must name a terminal type, e.g. xterm-256color")
    if not cfg.remote_command.strip():
        raise ConfigError(f"{where}: remote-command must name a command, e.g. /opt/bin/ptymux")
    _check_ssh_command(cfg.ssh_command, where)
    return cfg


def _check_ssh_command(text: str, where: str) -> None:
    """``ssh-command`` is split as a shell would split it (no shell runs it): it must
    split, and name a program."""
    import shlex

    try:
        words = shlex.split(text)
    except ValueError as e:
        raise ConfigError(f"{where}: ssh-command: {e}") from None
    if not words:
        raise ConfigError(f"{where}: ssh-command must name the ssh program, e.g. \"ssh\"")


def _table(value: Any, known: dict[str, tuple[str, type]], where: str, prefix: str
           ) -> dict[str, Any]:
    if type(value) is not dict:
        raise ConfigError(f"{where}: {prefix.rstrip('.')} must be a table")
    out: dict[str, Any] = {}
    for key, item in value.items():
        entry = known.get(key.replace("_", "-"))
        if entry is None:
            names = ", ".join(prefix + k for k in known)
            raise ConfigError(f"{where}: unknown key '{prefix}{key}' (known: {names})")
        field, want = entry
        if type(item) is not want:
            raise ConfigError(f"{where}: {prefix}{key} must be {_KIND[want]}")
        out[field] = item
    return out


def _str_value(value: Any, where: str, key: str) -> str:
    if type(value) is not str:
        raise ConfigError(f"{where}: {key} must be a string such as 'ctrl-p,ctrl-q'")
    return value


def _keys_table(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    from ptymux.keys import ACTIONS

    if type(value) is not dict:
        raise ConfigError(f"{where}: keys must be a table of action = \"keys\"")
    out: dict[str, tuple[str, ...]] = {}
    for action, specs in value.items():
        if action not in ACTIONS:
            raise ConfigError(
                f"{where}: keys.{action}: unknown action (actions: {', '.join(ACTIONS)})"
            )
        if type(specs) is str:
            out[action] = (specs,) if specs else ()
        elif type(specs) is list and all(type(s) is str for s in specs):
            out[action] = tuple(s for s in specs if s)
        else:
            raise ConfigError(
                f"{where}: keys.{action} must be a key spec such as 'ctrl-p,n', or a list of them"
            )
    return out


def emulator(cfg: Config) -> str:
    """The emulator new sessions get: ``PTYMUX_EMULATOR``, else the config file's."""
    chosen = os.environ.get("PTYMUX_EMULATOR") or cfg.emulator
    if chosen not in EMULATORS:
        raise ConfigError(
            f"PTYMUX_EMULATOR={chosen}: unknown emulator (use {', '.join(EMULATORS)})"
        )
    return chosen


def key_specs(cfg: Config, detach_override: str | None = None) -> dict[str, tuple[str, ...]]:
    """Every action's key specs: the defaults, then the file's, then ``--detach-keys``."""
    specs = dict(DEFAULT_KEYS)
    specs.update(cfg.keys)
    if detach_override:
        specs["detach"] = (detach_override,)
    return {action: seqs for action, seqs in specs.items() if seqs}


def bindings(cfg: Config, detach_override: str | None = None) -> dict[bytes, str]:
    """The key sequences the attached client (or the server for it) acts on, checked: a bad
    spec or two bindings that clash are a ConfigError naming where they came from. A default
    binding that clashes with one the user chose gives way."""
    from ptymux.keys import check_bindings

    chosen = dict(cfg.keys)
    if detach_override:
        chosen["detach"] = (detach_override,)
    out: dict[bytes, str] = {}
    for action, specs in key_specs(cfg, detach_override).items():
        for spec in specs:
            origin = _origin(cfg, action, detach_override)
            try:
                seq = parse_keys(spec)
            except ConfigError as e:
                raise ConfigError(f"{origin}: {e}") from None
            if seq in out and out[seq] != action:
                raise ConfigError(
                    f"{origin}: {describe_keys(seq)} is bound to {out[seq]} already"
                )
            out[seq] = action
    user = {parse_keys(s) for specs in chosen.values() for s in specs}
    for seq in list(out):  # defaults give way to what the user chose
        if seq not in user and any(u != seq and (u.startswith(seq) or seq.startswith(u))
                                   for u in user):
            del out[seq]
    if "detach" not in out.values():
        raise ConfigError(f"{_origin(cfg, 'detach', None)}: a detach binding is needed")
    clash = check_bindings(out)
    if clash:
        raise ConfigError(f"{_origin(cfg, None, detach_override)}: {clash}")
    return out


def _origin(cfg: Config, action: str | None, detach_override: str | None) -> str:
    if action == "detach" and detach_override:
        return "--detach-keys"
    where = f"config file {cfg.path}" if cfg.path else "default bindings"
    return f"{where}: keys.{action}" if action and cfg.path else where


_CTRL_SPECIALS = {"@": 0x00, "[": 0x1B, "\\": 0x1C, "]": 0x1D, "^": 0x1E, "_": 0x1F}


def parse_keys(spec: str) -> bytes:
    """Docker's syntax: comma-separated ``ctrl-<char>`` tokens or single characters.

    ``ctrl-a``..``ctrl-z``, ``ctrl-@``, ``ctrl-[``, ``ctrl-\\``, ``ctrl-]``, ``ctrl-^``,
    ``ctrl-_``, ``DEL`` or one printable ASCII character each.
    """
    if not spec:
        raise ConfigError("empty key spec")
    out = bytearray()
    for token in spec.split(","):
        low = token.lower()
        if low.startswith("ctrl-") and len(token) == 6:
            ch = low[5]
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
                continue
            if ch in _CTRL_SPECIALS:
                out.append(_CTRL_SPECIALS[ch])
                continue
        elif token == "DEL":
            out.append(0x7F)
            continue
        elif len(token) == 1 and 0x20 <= ord(token) < 0x7F:
            out.append(ord(token))
            continue
        raise ConfigError(
            f"bad key {token!r}: use ctrl-<a-z@[\\]^_>, DEL or a single character,"
            " separated by commas (e.g. 'ctrl-p,ctrl-q')"
        )
    if len(out) > MAX_DETACH_KEYS:
        raise ConfigError(f"too many keys in one binding: at most {MAX_DETACH_KEYS}")
    return bytes(out)


parse_detach_keys = parse_keys  # the name the first release used


def describe_keys(keys: bytes) -> str:
    """``b'\\x10\\x11'`` -> ``'Ctrl-P Ctrl-Q'`` for messages and help."""
    names = []
    for b in keys:
        if b < 0x20:
            names.append("Ctrl-" + chr(b + 0x40))
        elif b == 0x7F:
            names.append("DEL")
        else:
            names.append(chr(b))
    return " ".join(names)


def spec_of(keys: bytes) -> str:
    """``b'\\x10\\x11'`` -> ``'ctrl-p,ctrl-q'``: the config syntax back (show-config)."""
    tokens = []
    for b in keys:
        if 1 <= b <= 26:
            tokens.append("ctrl-" + chr(b + 0x60))
        elif b < 0x20:
            tokens.append("ctrl-" + {v: k for k, v in _CTRL_SPECIALS.items()}[b])
        elif b == 0x7F:
            tokens.append("DEL")
        else:
            tokens.append(chr(b))
    return ",".join(tokens)


def show(cfg: Config, detach_override: str | None = None) -> str:
    """The effective configuration as TOML (``ptymux show-config``)."""
    from ptymux.keys import ACTIONS

    def toml(v: Any) -> str:
        if type(v) is bool:
            return "true" if v else "false"
        if type(v) is str:
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v)

    lines = [f"# from {cfg.path or 'the defaults (no config file)'}"]
    for key, (field, _kind) in _TOP.items():
        lines.append(f"{key} = {toml(getattr(cfg, field))}")
    lines += ["", "[keys]"]
    try:
        bound = bindings(cfg, detach_override)
    except ConfigError as e:
        lines.append(f"# not usable: {e}")
        bound = {}
    by_action: dict[str, list[str]] = {}
    for seq, action in bound.items():
        by_action.setdefault(action, []).append(spec_of(seq))
    for action in ACTIONS:
        specs = by_action.get(action, [])
        value = toml(specs[0]) if len(specs) == 1 else "[" + ", ".join(map(toml, specs)) + "]"
        lines.append(f"{action} = {value}")
    lines += ["", "[switcher]"]
    for key, (field, _kind) in _SWITCHER.items():
        lines.append(f"{key} = {toml(getattr(cfg, field))}")
    return "\n".join(lines) + "\n"
