"""Shell completions and the man page: generated from the command table, checked in, valid
for their shells, and completing commands, options and live session names."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness import PTYMUX, Mux
from ptymux.commands import TABLE
from ptymux.completions import FILES, generate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = {"bash": "contrib/completions/ptymux.bash", "zsh": "contrib/completions/_ptymux",
           "fish": "contrib/completions/ptymux.fish"}


@pytest.mark.parametrize("name", sorted(FILES))
def test_checked_in_files_are_what_the_table_makes(name: str) -> None:
    with open(os.path.join(ROOT, name)) as f:
        assert f.read() == FILES[name](), (
            f"{name} is stale: run 'python -m ptymux.completions .' in the checkout")


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_scripts_are_valid_for_their_shell(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    result = subprocess.run([shell, "-n", os.path.join(ROOT, SCRIPTS[shell])],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr


def test_the_completions_command(mux: Mux) -> None:
    assert mux.run("completions", "fish").stdout == generate("fish")
    bad = mux.run("completions", "tcsh")
    assert bad.returncode == 2 and "choose one of bash, zsh, fish" in bad.stderr


def _bash_complete(mux: Mux, line: str) -> list[str]:
    words = line.split(" ")
    script = (f"source {os.path.join(ROOT, SCRIPTS['bash'])}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_ptymux\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {**mux.env, "PATH": os.path.dirname(PTYMUX) + ":" + mux.env.get("PATH", "")}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                            timeout=20)
    return [w for w in result.stdout.split("\n") if w]


def test_bash_completes_commands_options_and_sessions(mux: Mux) -> None:
    assert sorted(_bash_complete(mux, "ptymux kil")) == ["kill", "kill-server", "kill-session"]
    assert _bash_complete(mux, "ptymux -L x capture -")[:2] == ["-t", "-e"]
    assert _bash_complete(mux, "ptymux -H box capture -")[:2] == ["-t", "-e"]
    assert sorted(_bash_complete(mux, "ptymux -")) == ["-H", "-L", "-S", "-V"]
    mux.run("new", "-d", "-s", "build", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "-s", "bench", "--", "sleep", "60", check=True)
    assert sorted(_bash_complete(mux, "ptymux attach -t b")) == ["bench", "build"]
    assert _bash_complete(mux, "ptymux kill -t bu") == ["build"]
    names = {n for e in TABLE for n in (e.name, *e.aliases)}
    assert set(_bash_complete(mux, "ptymux help ")) == names
    # The sessions of the server the line names, not the default one's.
    mux.run("-L", "other", "new", "-d", "-s", "elsewhere", "--", "sleep", "60", check=True)
    try:
        assert _bash_complete(mux, "ptymux -L other attach -t ") == ["elsewhere"]
        assert "elsewhere" not in _bash_complete(mux, "ptymux attach -t ")
    finally:
        mux.run("-L", "other", "kill-server")


def test_fish_completes_commands_and_sessions(mux: Mux) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    mux.run("new", "-d", "-s", "build", "--", "sleep", "60", check=True)

    def complete(line: str) -> list[str]:
        env = {**mux.env, "PATH": os.path.dirname(PTYMUX) + ":" + mux.env["PATH"]}
        script = (f"source {os.path.join(ROOT, SCRIPTS['fish'])}; "
                  f"complete -C {line!r}")
        result = subprocess.run(["fish", "--no-config", "-c", script], env=env,
                                capture_output=True, text=True, timeout=20)
        return [w.split("\t")[0] for w in result.stdout.split("\n") if w]

    assert "kill-session" in complete("ptymux kill")
    assert complete("ptymux attach -t ") == ["build"]
    mux.run("-L", "other", "new", "-d", "-s", "elsewhere", "--", "sleep", "60", check=True)
    try:
        assert complete("ptymux -L other attach -t ") == ["elsewhere"]
    finally:
        mux.run("-L", "other", "kill-server")
