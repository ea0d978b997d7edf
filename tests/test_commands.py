"""The command table: parser, help and docs from one place; exit statuses; usage errors."""

from __future__ import annotations

import os

import pytest

from harness import Mux
from ptymux.commands import TABLE, lookup

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "usage.md")


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_docs_list_every_command_as_the_table_has_it() -> None:
    with open(DOCS) as f:
        docs = f.read()
    rows = [line for line in docs.splitlines() if line.startswith("| `")]
    for entry in TABLE:
        row = [r for r in rows if r.startswith(f"| `{entry.usage()}` |")]
        assert row, f"docs/usage.md has no row for `{entry.usage()}`"
        for alias in entry.aliases:
            assert f"`{alias}`" in row[0].split("|")[2], (entry.name, alias)
    documented = {r.split("`")[1].split(" ")[0] for r in rows if r.split("`")[1][:1].isalpha()}
    assert {e.name for e in TABLE} >= documented & {e.name for e in TABLE}


def test_every_name_and_alias_runs_its_command(mux: Mux) -> None:
    for entry in TABLE:
        for name in (entry.name, *entry.aliases):
            assert lookup(name) is entry
            result = mux.run(name, "-h")
            assert result.returncode == 0, (name, result.stderr)
            assert f"usage: ptymux {entry.name} " in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["lss"], "ptymux: unknown command 'lss'; did you mean 'ls'?"),
    (["kil-server"], "ptymux: unknown command 'kil-server'; did you mean 'kill-server'?"),
    (["frobnicate"], "ptymux: unknown command 'frobnicate'"),
    (["capture", "-S", "x"],
     "ptymux: argument -S: invalid int value: 'x' (see 'ptymux help capture')"),
    (["ls", "--bogus"], "ptymux: unrecognized arguments: --bogus (see 'ptymux help ls')"),
    (["kill-session"],
     "ptymux: the following arguments are required: -t (see 'ptymux help kill-session')"),
    (["help", "nope"], "ptymux: unknown command 'nope'"),
    (["-L", "", "ls"], "ptymux: -L needs a server name"),
    (["-S", "", "ls"], "ptymux: -S needs a socket path"),
    (["new", "-x", "100", "-y", "10", "--", "true"],
     "ptymux: -x and -y size a detached session (-d); an attached one takes this terminal's"
     " size"),
    (["new", "-d", "--term", "", "--", "true"], "ptymux: --term needs a terminal type, e.g."
     " xterm-256color"),
    (["new", "-d", "-x", "0", "--", "true"], "ptymux: -x and -y must be within 1..1000 and"
     " 1..500"),
    (["new", "-d", "--history", "-1", "--", "true"],
     "ptymux: --history must be between 0 and 1000000"),
    (["capture", "-t", "x" * 300], "ptymux: target too long: at most 256 characters"),
])
def test_usage_errors_exit_2_with_one_line(mux: Mux, args: list[str], message: str) -> None:
    result = mux.run(*args)
    assert result.returncode == 2, result.stderr
    assert _one_line(result.stderr) == message
    assert not os.path.exists(mux.socket), "a usage error started a server"


def test_help_needs_no_server(mux: Mux) -> None:
    general = mux.run("help")
    assert general.returncode == 0 and "kill-session" in general.stdout
    one = mux.run("help", "kill")  # an alias
    assert one.returncode == 0 and "usage: ptymux kill-session [-h] -t TARGET" in one.stdout
    assert not os.path.exists(mux.socket)


def test_names_that_read_as_ids_and_ambiguous_targets(mux: Mux) -> None:
    for bad in ("$5", "12"):
        result = mux.run("new", "-d", "-s", bad, "--", "true")
        assert result.returncode == 2
        assert _one_line(result.stderr) == (
            f"ptymux: bad session name '{bad}': it would read as a session id"
        )
    for name in ("build", "bench", "docs"):
        mux.run("new", "-d", "-s", name, "--", "sleep", "60", check=True)
    for target in ("b", "b*"):
        result = mux.run("kill-session", "-t", target)
        assert result.returncode == 1
        assert _one_line(result.stderr) == (
            f"ptymux: ambiguous target '{target}': bench, build"
        )
    assert mux.run("kill-session", "-t", "bu").returncode == 0  # a unique prefix
    assert mux.run("ls").stdout.count("\n") == 2


def test_the_name_index_matches_the_entries() -> None:
    from ptymux.commands import MODULES, NAMES

    named = {name: entry.run.__module__.rsplit(".", 1)[1]
             for entry in TABLE for name in (entry.name, *entry.aliases)}
    assert named == NAMES
    assert [e.run.__module__.rsplit(".", 1)[1] for e in TABLE] == list(MODULES)


def test_a_command_imports_only_its_own_module() -> None:
    import subprocess
    import sys

    code = ("import sys; from ptymux import cli;"
            " cli.build_parser(cli.lookup('has')).parse_args(['has', '-t', 'x']);"
            " print(sorted(m for m in sys.modules if m.startswith('ptymux.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.strip() == "['ptymux.commands.common', 'ptymux.commands.entry'," \
                          " 'ptymux.commands.has_session']"
