"""User configuration: defaults, the config file, and detach-key spec parsing.

The config file is TOML at ``$PTYMUX_CONFIG``, else ``$XDG_CONFIG_HOME/ptymux/config.toml``,
else ``~/.config/ptymux/config.toml``. Every key is optional; see docs/configuration.md.
"""

from __future__ import annotations

import os

from ptymux.protocol import EMULATORS, MAX_DETACH_KEYS

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~3 ms
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ptymux.records import NamedTuple

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
DEFAULT_TERM = "xterm-256color"
DEFAULT_HISTORY = 2000


class ConfigError(Exception):
    """A bad config file or option value; the message names the bad part."""


class Config(NamedTuple):
    detach_keys: str = DEFAULT_DETACH_KEYS
    term: str = DEFAULT_TERM
    history: int = DEFAULT_HISTORY
    emulator: str = "vt"  # the model of new sessions (ptymux.term); PTYMUX_EMULATOR wins


def config_path() -> str:
    explicit = os.environ.get("PTYMUX_CONFIG")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "ptymux", "config.toml")


def load() -> Config:
    """Read the config file if there is one; unknown keys and wrong types are errors."""
    path = config_path()
    try:
        with open(path, "rb") as f:
            import tomllib  # only when there is a file to parse

            try:
                raw: dict[str, Any] = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"config file {path}: {e}") from None
    except FileNotFoundError:
        return Config()
    except OSError as e:
        raise ConfigError(f"config file {path}: {e}") from None
    known = {name: type(default) for name, default in Config._field_defaults.items()}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"config file {path}: unknown key {key!r}")
        want = known[key]
        if type(value) is not want:
            kind = "an integer" if want is int else "a string"
            raise ConfigError(f"config file {path}: {key} must be {kind}")
    cfg = Config(**raw)
    parse_detach_keys(cfg.detach_keys)  # fail early, naming the file
    if cfg.history < 0:
        raise ConfigError(f"config file {path}: history must be >= 0")
    if cfg.emulator not in EMULATORS:
        raise ConfigError(f"config file {path}: emulator must be one of {', '.join(EMULATORS)}")
    return cfg


def emulator(cfg: Config) -> str:
    """The emulator new sessions get: ``PTYMUX_EMULATOR``, else the config file's."""
    chosen = os.environ.get("PTYMUX_EMULATOR") or cfg.emulator
    if chosen not in EMULATORS:
        raise ConfigError(
            f"PTYMUX_EMULATOR={chosen}: unknown emulator (use {', '.join(EMULATORS)})"
        )
    return chosen


_CTRL_SPECIALS = {"@": 0x00, "[": 0x1B, "\\": 0x1C, "]": 0x1D, "^": 0x1E, "_": 0x1F}


def parse_detach_keys(spec: str) -> bytes:
    """Docker's syntax: comma-separated ``ctrl-<char>`` tokens or single characters.

    ``ctrl-a``..``ctrl-z``, ``ctrl-@``, ``ctrl-[``, ``ctrl-\\``, ``ctrl-]``, ``ctrl-^``,
    ``ctrl-_``, ``DEL`` or one printable ASCII character each.
    """
    if not spec:
        raise ConfigError("empty detach key spec")
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
            f"bad detach key {token!r}: use ctrl-<a-z@[\\]^_>, DEL or a single character,"
            " separated by commas (e.g. 'ctrl-p,ctrl-q')"
        )
    if len(out) > MAX_DETACH_KEYS:
        raise ConfigError(f"too many detach keys: at most {MAX_DETACH_KEYS}")
    return bytes(out)


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
