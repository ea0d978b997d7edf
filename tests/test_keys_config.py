"""Key bindings (docker's rule: never lose a key) and the config file that sets them."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptymux.config import (
    Config,
    ConfigError,
    bindings,
    describe_keys,
    load,
    parse_keys,
    show,
    spec_of,
)
from ptymux.keys import KeyMatcher, check_bindings

CP, CQ, CO = b"\x10", b"\x11", b"\x0f"
DEFAULT = {CP + CQ: "detach", CP + CO: "switcher"}


def feed_bytewise(matcher: KeyMatcher, typed: bytes) -> tuple[bytes, str | None]:
    out = b""
    for i in range(len(typed)):
        got, action, _rest = matcher.feed(typed[i : i + 1])
        out += got
        if action:
            return out, action
    return out, None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (b"abc", (b"abc", None)),
        (CP + CQ, (b"", "detach")),
        (CP + CO, (b"", "switcher")),
        (b"ab" + CP + CQ, (b"ab", "detach")),
        (CP + b"x", (CP + b"x", None)),  # not a binding: both keys reach the program
        (CP, (b"", None)),  # held back, no timeout
        (CP + CP, (CP + CP, None)),  # docker's rule: Ctrl-P Ctrl-P sends both
        (CP + CP + CP + CQ, (CP + CP, "detach")),
        (CP + CP + b"x", (CP + CP + b"x", None)),
        (b"\x1b[A" + CP + b"\x1b[B", (b"\x1b[A" + CP + b"\x1b[B", None)),
    ],
)
def test_matcher(typed: bytes, expected: tuple[bytes, str | None]) -> None:
    assert feed_bytewise(KeyMatcher(DEFAULT), typed) == expected
    got, action, _rest = KeyMatcher(DEFAULT).feed(typed)  # the same in one read
    assert (got, action) == expected


def test_bytes_after_a_binding_are_handed_back() -> None:
    assert KeyMatcher(DEFAULT).feed(b"a" + CP + CO + b"jj") == (b"a", "switcher", b"jj")


def test_a_held_prefix_can_be_taken_back() -> None:
    matcher = KeyMatcher(DEFAULT)
    assert matcher.feed(CP) == (b"", None, b"")
    assert matcher.take_held() == CP
    assert matcher.feed(CQ) == (CQ, None, b"")


def test_tmux_style_prefix_with_single_keys() -> None:
    matcher = KeyMatcher({b"\x02d": "detach", b"\x02s": "switcher", b"\x02n": "next-session"})
    assert matcher.feed(b"\x02n") == (b"", "next-session", b"")
    assert matcher.feed(b"\x02x") == (b"\x02x", None, b"")


@given(st.binary(max_size=64), st.integers(1, 8))
def test_no_key_is_ever_lost(typed: bytes, split: int) -> None:
    """Whatever is typed, in whatever reads: what reaches the program, plus the bindings
    found, plus what is still held, is exactly what was typed."""
    matcher = KeyMatcher(DEFAULT)
    seen = b""
    data = typed
    while data:
        got, action, rest = matcher.feed(data[:split])
        seen += got
        if action is not None:
            seen += {v: k for k, v in DEFAULT.items()}[action]
            data = rest + data[split:]
        else:
            data = data[split:]
    assert seen + matcher.take_held() == typed


def test_clashing_bindings_are_named() -> None:
    assert check_bindings(DEFAULT) == ""
    clash = check_bindings({CP: "detach", CP + CO: "switcher"})
    assert "Ctrl-P (detach) starts Ctrl-P Ctrl-O (switcher)" in clash


def test_parse_keys() -> None:
    assert parse_keys("ctrl-p,ctrl-q") == CP + CQ
    assert parse_keys("ctrl-a,d") == b"\x01d"
    assert parse_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,DEL") == bytes(
        [0, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F]
    )
    assert parse_keys("CTRL-P") == CP
    assert describe_keys(CP + CQ) == "Ctrl-P Ctrl-Q"
    for spec in ("ctrl-p,ctrl-q", "ctrl-b,%", "ctrl-@,ctrl-],DEL"):
        assert spec_of(parse_keys(spec)) == spec
    for bad in ("", "ctrl-", "ctrl-1", "ab", "ctrl-p,,ctrl-q", "é"):
        with pytest.raises(ConfigError, match="key"):
            parse_keys(bad)


@pytest.fixture
def config_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    path = tmp_path / "c.toml"
    path.write_text("")
    monkeypatch.setenv("PTYMUX_CONFIG", str(path))
    return path


def test_defaults(config_file: pathlib.Path) -> None:
    cfg = load()
    assert bindings(cfg) == DEFAULT
    assert (cfg.scrollback, cfg.exit_on_close, cfg.preview, cfg.set_title) == (
        1000, False, True, True)


def test_config_file_values(config_file: pathlib.Path) -> None:
    config_file.write_text(
        'detach_keys = "ctrl-a,d"\nhistory = 10\nterm = "screen"\nexit-on-close = true\n'
        'scrollback = 0\n[keys]\nnext-session = ["ctrl-a,n", "ctrl-a,ctrl-n"]\n'
        '[switcher]\npreview = false\n'
    )
    cfg = load()
    assert (cfg.history, cfg.term, cfg.exit_on_close, cfg.scrollback, cfg.preview) == (
        10, "screen", True, 0, False)
    assert bindings(cfg) == {b"\x01d": "detach", CP + CO: "switcher",
                             b"\x01n": "next-session", b"\x01\x0e": "next-session"}
    assert bindings(cfg, "ctrl-x") == {b"\x18": "detach", CP + CO: "switcher",
                                       b"\x01n": "next-session", b"\x01\x0e": "next-session"}


def test_a_default_binding_gives_way_to_a_chosen_one(config_file: pathlib.Path) -> None:
    config_file.write_text('[keys]\ndetach = "ctrl-p"\n')
    assert bindings(load()) == {CP: "detach"}  # the default Ctrl-P Ctrl-O could not be typed
    config_file.write_text('[keys]\ndetach = "ctrl-p"\nswitcher = "ctrl-p,ctrl-o"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: .*Ctrl-P \(detach\) starts Ctrl-P Ctrl-O"):
        bindings(load())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown key 'colour' (known: term, history"),
        ("history = 'x'\n", "history must be an integer"),
        ("exit-on-close = 1\n", "exit-on-close must be true or false"),
        ("scrollback = -1\n", "scrollback must be >= 0"),
        ("[switcher]\nsize = 3\n", "unknown key 'switcher.size' (known: switcher.preview"),
        ("[keys]\nfly = 'ctrl-f'\n", "keys.fly: unknown action (actions: detach, switcher"),
        ("[keys]\ndetach = 3\n", "keys.detach must be a key spec"),
        ("keys = 3\n", "keys must be a table"),
        ("history = \n", "Invalid value"),
    ],
)
def test_bad_config_names_file_and_key(config_file: pathlib.Path, text: str,
                                       message: str) -> None:
    config_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load()
    assert str(info.value).startswith(f"config file {config_file}: ")
    assert message in str(info.value)


def test_bad_binding_is_found_when_attaching_only(config_file: pathlib.Path) -> None:
    config_file.write_text('[keys]\nswitcher = "ctrl-pp"\n')
    cfg = load()  # ls, new -d: fine
    with pytest.raises(ConfigError, match=r"c\.toml: keys\.switcher: bad key 'ctrl-pp'"):
        bindings(cfg)
    assert "# not usable: " in show(cfg)


def test_config_named_by_env_must_exist(tmp_path: pathlib.Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("PTYMUX_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=f"PTYMUX_CONFIG={missing}: no such file"):
        load()
    monkeypatch.delenv("PTYMUX_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # an implicit path may be absent
    assert load() == Config()


def test_show_is_a_config_that_loads_back(config_file: pathlib.Path) -> None:
    config_file.write_text('scrollback = 5\n[keys]\nnext-session = "ctrl-p,n"\n')
    cfg = load()
    text = show(cfg)
    assert 'next-session = "ctrl-p,n"' in text
    assert 'switcher = "ctrl-p,ctrl-o"' in text
    config_file.write_text(text)
    again = load()
    assert bindings(again) == bindings(cfg)
    assert again._replace(keys=(), path="") == cfg._replace(keys=(), path="")
