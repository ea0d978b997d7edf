"""``upgrade-server``: the server re-executes itself as the installed ptymux and keeps every
session: the same programs (pids), screens and scrollback, ids, names and creation times.

Real server, real ptys, real programs; the version change is made real by running the
server from a copy of the package whose version is then changed, as ``pip install -U``
changes the installed files under a running server.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

import ptymux
from harness import PTYMUX, Mux, Terminal, settled_view, wait_until

PKG_DIR = os.path.dirname(ptymux.__file__)


def sessions(mux: Mux) -> dict[str, dict[str, object]]:
    rows = json.loads(mux.run("ls", "--json", check=True).stdout)
    return {row["name"]: row for row in rows}


def capture_all(mux: Mux, target: str) -> str:
    """Screen and history with their colours, and joined where lines soft-wrap."""
    return "".join(mux.run("capture", "-t", target, *opts, "-S", "-1000000", check=True).stdout
                   for opts in (["-e"], ["-J"]))


def server_info(mux: Mux) -> dict[str, object]:
    info: dict[str, object] = json.loads(mux.run("server-info", "--json", check=True).stdout)
    return info


def settled(mux: Mux, target: str) -> str:
    """The capture once two in a row agree (the program has stopped printing)."""
    last = [""]

    def same() -> str | None:
        now = capture_all(mux, target)
        done = now if now == last[0] else None
        last[0] = now
        return done

    result: str = wait_until(same, what=f"session {target} to settle")
    return result


def test_upgrade_keeps_sessions_programs_and_screens(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "shell", check=True)
    mux.run("send-keys", "-t", "shell",
            "for i in $(seq 1 300); do printf '\\033[3%dmhist %d\\033[0m\\n' $((i % 8)) $i;"
            " done; for i in 1 2 3; do printf 'long %0150d end\\n' $i; done; sleep 60",
            "Enter", check=True)
    mux.run("new", "-d", "-s", "flood", "--", "sh", "-c",
            "i=0; while :; do i=$((i+1)); echo flood $i; done", check=True)
    mux.run("new", "-d", "-s", "kept", "--remain-on-exit", "--", "sh", "-c",
            "printf '\\033[1;31mred\\033[0m bye\\n'; exit 3", check=True)
    vim = shutil.which("vim") is not None
    if vim:
        mux.run("new", "-d", "-s", "vim", "--", "vim", "-u", "NONE", "-N", "-n", check=True)
        wait_until(lambda: "~" in mux.run("capture", "-t", "vim").stdout, what="vim")
        mux.run("send-keys", "-t", "vim", "iwritten in vim", "Escape", check=True)
        wait_until(lambda: "written in vim" in (shown := mux.run("capture", "-t", "vim").stdout)
                   and "INSERT" not in shown, what="vim's text, back in normal mode")
    wait_until(lambda: sessions(mux)["shell"]["current_command"] == "sleep",
               what="the shell to be mid-command")
    wait_until(lambda: sessions(mux)["kept"]["ended"], what="the kept session to end")
    stable = ["shell", "kept", *(["vim"] if vim else [])]
    before_screens = {name: settled(mux, name) for name in stable}
    assert "hist 300" in before_screens["shell"] and "hist 1\x1b" in before_screens["shell"]
    assert f"\nlong {2:0150d} end\n" in before_screens["shell"]  # (-J: one line)
    before = sessions(mux)
    info = server_info(mux)
    flood_before = mux.run("capture", "-t", "flood", check=True).stdout

    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "upgraded" in done.stdout and done.stderr == ""

    after = sessions(mux)
    assert set(after) == set(before)
    for name, row in before.items():
        for field in ("id", "name", "created", "pid", "command", "cols", "rows", "ended",
                      "status"):
            assert after[name][field] == row[field], (name, field)
    for name in stable:
        assert capture_all(mux, name) == before_screens[name], name
    assert after["shell"]["current_command"] == "sleep"  # the command still runs
    again = server_info(mux)
    assert again["pid"] == info["pid"]
    assert again["handovers"] == 1 and info["handovers"] == 0
    assert again["started"] == info["started"]
    # The flood never stopped: it goes on printing, into the same program's pty.
    wait_until(lambda: mux.run("capture", "-t", "flood").stdout != flood_before,
               what="the flood to go on")
    # Typing still reaches the programs.
    mux.run("send-keys", "-t", "shell", "C-c", check=True)
    mux.run("send-keys", "-t", "shell", "echo after-$((6*7))", "Enter", check=True)
    wait_until(lambda: "after-42" in mux.run("capture", "-t", "shell").stdout,
               what="the shell to answer")
    if vim:
        mux.run("send-keys", "-t", "vim", "o", "and after", "Escape", check=True)
        wait_until(lambda: "and after" in mux.run("capture", "-t", "vim").stdout,
                   what="vim to take keys")
        mux.run("send-keys", "-t", "vim", ":qa!", "Enter", check=True)
    # The kept session's status is still there for wait.
    assert mux.run("wait", "-t", "kept").returncode == 3
    # No record left behind in the state directory.
    assert not glob.glob(os.path.join(mux.root, "state", "ptymux", "handover-*"))


@pytest.mark.parametrize("emulator", ["pyte", "ghostty"])
def test_the_other_models_keep_their_screens_across_an_upgrade(mux: Mux, emulator: str
                                                               ) -> None:
    """A session on the pyte or ghostty model keeps that model, its colours and its history
    (lines short of the width: docs/upgrade.md says what those models lose of a soft wrap
    that stops short)."""
    if emulator == "ghostty":
        from ptymux.term.ghostty_model import available

        if not available():
            pytest.skip("pyghostty is not installed")
    env = {**mux.env, "PTYMUX_EMULATOR": emulator}
    mux.run("new", "-d", "-s", "m", env=env, check=True)
    mux.run("send-keys", "-t", "m",
            "for i in $(seq 1 120); do printf '\\033[3%dmrow %d\\033[0m\\n' $((i % 8)) $i;"
            " done; printf '\\033[1;4mlast\\033[0m'; sleep 60", "Enter", check=True)
    wait_until(lambda: "last" in mux.run("capture", "-t", "m").stdout, what="the output")
    before = settled(mux, "m")
    assert "row 1\x1b" in before and "row 120" in before
    model = f"session 0 (m) model {emulator.capitalize()}Model"
    assert model in mux.log()

    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert capture_all(mux, "m") == before
    wait_until(lambda: mux.log().count(model) == 2, what="the same model made again")


def _catches(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler for ``sig`` (/proc/PID/status: SigCgt)."""
    with open(f"/proc/{pid}/status") as f:
        masks = dict(line.split(":", 1) for line in f if line.startswith("Sig"))
    bit = 1 << (sig - 1)
    return bool(int(masks["SigCgt"], 16) & bit) and not int(masks["SigIgn"], 16) & bit


def test_sigusr1_still_re_creates_the_socket_after_an_upgrade(mux: Mux) -> None:
    """A starting server ignores SIGUSR1 until its loop takes it; the loop of the code that
    takes over must have it too (tmux's convention: SIGUSR1 re-creates the socket)."""
    mux.run("new", "-d", "-s", "s", "--", "sleep", "60", check=True)
    mux.run("ls", check=True)  # (answered by the loop)
    pid = mux.server_pid()
    assert pid and _catches(pid, signal.SIGUSR1)
    assert mux.run("upgrade-server", timeout=60).returncode == 0
    assert mux.server_pid() == pid and _catches(pid, signal.SIGUSR1)
    os.kill(pid, signal.SIGUSR1)  # (nothing to re-create: the server just goes on)
    assert mux.run("ls", check=True).stdout.startswith("s: sleep 60 ")


def test_a_refused_record_leaves_the_old_server_running(mux: Mux) -> None:
    # The test hook is in the server's environment: the installed code it asks refuses.
    env = {**mux.env, "PTYMUX_TEST_REFUSE_HANDOVER": "1"}
    mux.run("new", "-d", "-s", "a", env=env, check=True)
    mux.run("send-keys", "-t", "a", "echo one", "Enter", check=True)
    wait_until(lambda: "one\n" in mux.run("capture", "-t", "a").stdout, what="one")
    info = server_info(mux)
    pid = sessions(mux)["a"]["pid"]

    refused = mux.run("upgrade-server", timeout=60)
    assert refused.returncode == 1
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "PTYMUX_TEST_REFUSE_HANDOVER" in lines[0]

    again = server_info(mux)
    assert again["pid"] == info["pid"] and again["handovers"] == 0
    assert sessions(mux)["a"]["pid"] == pid
    mux.run("send-keys", "-t", "a", "echo two", "Enter", check=True)
    wait_until(lambda: "two\n" in mux.run("capture", "-t", "a").stdout, what="two")
    assert not glob.glob(os.path.join(mux.root, "state", "ptymux", "handover-*"))


def clients(mux: Mux) -> list[dict[str, object]]:
    listing: list[dict[str, object]] = json.loads(
        mux.run("list-clients", "--json", check=True).stdout)
    return listing


def _attach(mux: Mux, target: str, cols: int, rows: int, *opts: str,
            frames: bool = False) -> Terminal:
    env = {**mux.env, "PTYMUX_PASS_TERMINAL": "0"} if frames else None
    before = len(clients(mux))
    term = mux.spawn("attach", "-t", target, *opts, cols=cols, rows=rows, env=env)
    wait_until(lambda: len(clients(mux)) == before + 1, what="the client to attach")
    return term


def _same_screen(term: Terminal, mux: Mux, target: str) -> None:
    """The client shows what the session's screen holds (its area: the session's size)."""
    def agree() -> bool:
        want = mux.run("capture", "-t", target, check=True).stdout.splitlines()
        shown = term.lines()[: len(want)]
        return [line.rstrip() for line in want] == shown
    wait_until(agree, what=f"the client to show session {target}'s screen:\n{term.text()}")


def test_attached_clients_stay_attached_across_an_upgrade(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "a", "-x", "90", "-y", "20", check=True)
    mux.run("send-keys", "-t", "a", "printf '\\033[1;32mgreen\\033[0m before\\n'", "Enter",
            check=True)
    wait_until(lambda: "green before\n" in mux.run("capture", "-t", "a").stdout, what="before")
    passed = _attach(mux, "a", 100, 30)
    framed = _attach(mux, "a", 80, 24, frames=True)  # 'latest': the session is 80x24 now
    viewer = _attach(mux, "a", 120, 40, "-r")  # read-only: its size never counts
    before = clients(mux)
    assert sessions(mux)["a"]["cols"] == 80
    passed.send(b"\x10")  # the start of the detach keys, typed before the upgrade...
    pid = sessions(mux)["a"]["pid"]

    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 session kept" in done.stdout

    after = clients(mux)
    assert [(c["id"], c["tty"], c["cols"], c["rows"], c["read_only"], c["attached"])
            for c in after] == [(c["id"], c["tty"], c["cols"], c["rows"], c["read_only"],
                                 c["attached"]) for c in before]
    row = sessions(mux)["a"]
    assert (row["pid"], row["cols"], row["rows"], row["attached"]) == (pid, 80, 24, 3)
    # Both ways of carrying output still reach their terminals, and typing still works.
    framed.send("echo framed-$((20+1))\r")
    for term in (passed, framed, viewer):
        term.wait_for("framed-21\n")
    viewer.send("echo never\r")  # (read-only: never reaches the shell)
    framed.send("echo typed-$((40+2))\r")
    for term in (passed, framed, viewer):
        term.wait_for("typed-42\n")
    for term in (passed, framed, viewer):
        _same_screen(term, mux, "a")
    assert "green before" in passed.text()
    assert "never" not in mux.run("capture", "-t", "a").stdout
    # ...and finished after it: the binding half typed under the old code detaches.
    passed.send(b"\x11")
    assert passed.wait_exit() == 0
    assert "detached (from session a)" in passed.text()
    framed.send(b"\x10\x11")
    assert framed.wait_exit() == 0
    assert [c["id"] for c in clients(mux)] == [before[2]["id"]]


def test_clients_of_a_flood_are_carried_mid_stream(mux: Mux) -> None:
    """Output queued for the clients, a frame half sent, keys half read: the upgrade
    carries what must go, drops what a redraw replaces, and both clients end up showing
    the session's screen."""
    mux.run("new", "-d", "-s", "f", "--", "sh", "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1));"
            " printf '\\033[3%dmflood %d\\033[0m\\n' $((i % 8)) $i; done;"
            " echo flood-$((1+1)); exec sleep 600", check=True)
    passed = _attach(mux, "f", 80, 24)
    framed = _attach(mux, "f", 80, 24, frames=True)
    ids = [c["id"] for c in clients(mux)]
    for _ in range(2):
        done = mux.run("upgrade-server", timeout=60)
        assert done.returncode == 0, done.stderr
        assert [c["id"] for c in clients(mux)] == ids
    # (the test's terminals render slowly: they pace the flood, as a slow terminal does)
    wait_until(lambda: "flood-2" in mux.run("capture", "-t", "f").stdout, timeout=60,
               what="the flood to end")
    for term in (passed, framed):
        _same_screen(term, mux, "f")
    framed.send(b"\x10\x11")
    assert framed.wait_exit() == 0
    passed.send(b"\x10\x11")
    assert passed.wait_exit() == 0


def test_a_bug_in_the_server_loop_re_executes_it_and_keeps_every_session(mux: Mux) -> None:
    """The crash guard: an exception in a loop callback (injected by the test hook on
    SIGUSR2) hands the server over to a fresh start; after CRASH_LIMIT of them in a row
    it logs a crash loop and runs on as it is."""
    from ptymux.server.server import CRASH_LIMIT

    env = {**mux.env, "PTYMUX_TEST_CRASH": "1"}
    mux.run("new", "-d", "-s", "a", env=env, check=True)
    mux.run("new", "-d", "-s", "b", "--", "sh", "-c", "echo bee; exec sleep 600", check=True)
    mux.run("send-keys", "-t", "a", "echo one", "Enter", check=True)
    wait_until(lambda: "one\n" in mux.run("capture", "-t", "a").stdout, what="one")
    client = _attach(mux, "a", 80, 24)
    before = sessions(mux)
    screens = {name: settled(mux, name) for name in before}
    info = server_info(mux)
    server_pid = info["pid"]
    assert isinstance(server_pid, int)

    for n in range(1, CRASH_LIMIT + 1):
        os.kill(server_pid, signal.SIGUSR2)
        wait_until(lambda n=n: server_info(mux)["handovers"] == n,  # type: ignore[misc]
                   what=f"recovery {n}")
        after = sessions(mux)
        assert {k: (v["id"], v["pid"], v["created"]) for k, v in after.items()} == {
            k: (v["id"], v["pid"], v["created"]) for k, v in before.items()}
        assert {name: capture_all(mux, name) for name in after} == screens
        assert server_info(mux)["pid"] == server_pid
    assert "RuntimeError: injected by PTYMUX_TEST_CRASH" in mux.log()
    # One more is a crash loop: logged, and the server runs on as it is.
    os.kill(server_pid, signal.SIGUSR2)
    wait_until(lambda: "crash loop" in mux.log(), what="the crash loop to be logged")
    assert server_info(mux)["handovers"] == CRASH_LIMIT
    # Every session, and the attached client, still work.
    client.send("echo after-$((6*7))\r")
    client.wait_for("after-42\n")
    assert sessions(mux)["b"]["pid"] == before["b"]["pid"]
    assert mux.run("has-session", "-t", "b").returncode == 0


# Modes a program sets, that a redraw must give back to the terminal (cursor keys, keypad,
# mouse, focus, bracketed paste, insert, hidden cursor, its shape, title, scroll region,
# origin mode), and the alternate screen over a main screen.
MODES = (r"printf '\033[?1h\033=\033[?1002h\033[?1006h\033[?1004h\033[?2004h\033[4h"
         r"\033[?25l\033[5 q\033]2;the title\007\033[3;20r\033[?6h\033[2;4HMARK'; sleep 600")
ALTERNATE = (r"printf 'main screen text\n\033[?1049h\033[2J\033[Halt screen\n"
             r"\033[32mgreen\033[0m\033[?1hMARK'; sleep 600")


def _view(mux: Mux, target: str) -> tuple[tuple[str, str], str]:
    """What a terminal (tmux) shows, and its modes and title, once attached to ``target``."""
    term = mux.tmux("attach", "-t", target)
    view = settled_view(term, "MARK")
    title = term.title()
    term.detach()
    return view, title


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux plays the terminal")
def test_modes_and_titles_survive_an_upgrade(mux: Mux) -> None:
    """A terminal attached after the upgrade, and one attached through it, end up with the
    same screen, cursor, modes and title as before it."""
    mux.run("new", "-d", "-s", "modes", "--", "sh", "-c", MODES, check=True)
    mux.run("new", "-d", "-s", "alt", "--", "sh", "-c", ALTERNATE, check=True)
    for name in ("modes", "alt"):
        wait_until(lambda name=name: "MARK" in mux.run("capture", "-t", name).stdout,
                   what=f"{name}'s MARK")
    before = {name: _view(mux, name) for name in ("modes", "alt")}
    assert before["modes"][1] == "the title" and before["modes"][0][1].split()[4] == "1"
    through = mux.tmux("attach", "-t", "modes")
    assert settled_view(through, "MARK") == before["modes"][0]

    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr

    wait_until(lambda: through.view() == before["modes"][0],
               what=f"the attached terminal's view after the upgrade:\n{through.view()}")
    assert through.title() == "the title"
    after = {name: _view(mux, name) for name in ("modes", "alt")}
    assert after == before


def test_attach_notes_another_server_version_where_it_can_be_read(mux: Mux) -> None:
    """The note is written before the session's screen, which draws over it, so it is
    written again after the detach; a server newer than the client says so."""
    installed = _package_copy(mux.root, "0.0.1")
    mux.run("new", "-d", "-s", "a", env={**mux.env, "PYTHONPATH": installed}, check=True)
    note = (f"ptymux: the server runs ptymux 0.0.1, this client is ptymux"
            f" {ptymux.__version__}: ptymux upgrade-server")
    term = mux.spawn("attach", "-t", "a", cols=120)
    wait_until(lambda: len(clients(mux)) == 1, what="the client to attach")
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    lines = term.lines()
    at = lines.index("[detached (from session a)]")
    assert lines[at + 1] == note
    # Upgraded to this client's version while attached: nothing to say after the detach.
    term = mux.spawn("attach", "-t", "a", cols=120)
    wait_until(lambda: len(clients(mux)) == 1, what="the client to attach")
    _set_version(installed, ptymux.__version__)
    assert mux.run("upgrade-server", timeout=60).returncode == 0
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    lines = term.lines()
    at = lines.index("[detached (from session a)]")
    assert lines[at + 1:] == [""] * (len(lines) - at - 1), lines
    mux.run("kill-server", check=True)

    _set_version(installed, "99.0.0")
    mux.run("new", "-d", "-s", "b", env={**mux.env, "PYTHONPATH": installed}, check=True)
    listing = mux.run("ls", check=True)
    assert listing.stderr == (f"ptymux: the server runs ptymux 99.0.0, newer than this client"
                              f" (ptymux {ptymux.__version__}): upgrade this ptymux"
                              " (pip install -U ptymux)\n")


def _package_copy(root: str, version: str) -> str:
    """A copy of the ptymux package at ``version``, importable from the returned path."""
    path = os.path.join(root, "pkg")
    shutil.copytree(PKG_DIR, os.path.join(path, "ptymux"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    _set_version(path, version)
    return path


def _set_version(path: str, version: str) -> None:
    init = os.path.join(path, "ptymux", "__init__.py")
    with open(init) as f:
        text = f.read()
    text = text.replace(f'__version__ = "{ptymux.__version__}"', f'__version__ = "{version}"')
    for old in ("0.0.1", "0.0.2"):
        text = text.replace(f'__version__ = "{old}"', f'__version__ = "{version}"')
    with open(init, "w") as f:
        f.write(text)


def _edit(installed: str, module: str, old: str, new: str) -> None:
    """Change ``old`` into ``new`` in a module of the installed copy (as a release would)."""
    path = os.path.join(installed, "ptymux", *module.split("/"))
    with open(path) as f:
        text = f.read()
    assert old in text, (module, old)
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def test_upgrade_runs_the_installed_version_and_ls_notes_the_difference(mux: Mux) -> None:
    installed = _package_copy(mux.root, "0.0.1")
    old_env = {**mux.env, "PYTHONPATH": installed}
    mux.run("new", "-d", "-s", "a", "--", "sh", "-c", "echo running; exec sleep 60",
            env=old_env, check=True)
    pid = sessions(mux)["a"]["pid"]
    listing = mux.run("ls", check=True)
    assert listing.stderr == (f"ptymux: the server runs ptymux 0.0.1, this client is ptymux"
                              f" {ptymux.__version__}: ptymux upgrade-server\n")
    assert server_info(mux)["software"] == "ptymux 0.0.1"
    screen = capture_all(mux, "a")

    _set_version(installed, "0.0.2")  # what 'pip install -U' does under the server
    done = mux.run("upgrade-server", timeout=60, check=True)
    assert "ptymux 0.0.1 -> ptymux 0.0.2" in done.stdout

    info = server_info(mux)
    assert info["software"] == "ptymux 0.0.2" and info["handovers"] == 1
    assert sessions(mux)["a"]["pid"] == pid
    assert capture_all(mux, "a") == screen
    # The old code's copy has served; the new server keeps its own.
    copies = os.path.join(mux.root, "state", "ptymux", "code-*")
    wait_until(lambda: [os.path.basename(p) for p in glob.glob(copies)]
               == [f"code-{info['pid']}-1"], what="the new server's copy of its code")


@pytest.mark.parametrize("stage", ["", "@listening"])
def test_new_code_failing_half_way_leaves_the_old_version_running(mux: Mux, stage: str
                                                                   ) -> None:
    """The installed code reads the record (the check passes) but fails while taking over
    (the test hook: once it has adopted the sessions, or once it listens, about to answer):
    the old version, from the copy of its code the server kept aside, takes the same record
    and runs on with every session."""
    installed = _package_copy(mux.root, "0.0.1")
    old_env = {**mux.env, "PYTHONPATH": installed,
               "PTYMUX_TEST_FAIL_TAKEOVER": f"0.0.2{stage}"}
    mux.run("new", "-d", "-s", "a", env=old_env, check=True)
    mux.run("send-keys", "-t", "a", "printf '\\033[1;35mkept\\033[0m\\n'", "Enter",
            check=True)
    wait_until(lambda: "kept\n" in mux.run("capture", "-t", "a").stdout, what="kept")
    client = _attach(mux, "a", 80, 24)
    state = os.path.join(mux.root, "state", "ptymux")
    wait_until(lambda: glob.glob(os.path.join(state, "code-*")), what="the code kept aside")
    screen = settled(mux, "a")
    pid = sessions(mux)["a"]["pid"]
    info = server_info(mux)

    _set_version(installed, "0.0.2")  # 'pip install -U': the new code is the one that fails
    failed = mux.run("upgrade-server", timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith("ptymux: the installed ptymux failed half way through"
                                    " taking over (RuntimeError: injected by")
    assert "ptymux 0.0.1 runs on" in failed.stderr and len(failed.stderr.splitlines()) == 1

    again = server_info(mux)
    assert again["software"] == "ptymux 0.0.1" and again["pid"] == info["pid"]
    assert sessions(mux)["a"]["pid"] == pid
    assert capture_all(mux, "a") == screen
    client.send("echo still-$((3*3))\r")
    client.wait_for("still-9\n")
    assert "running ptymux 0.0.1 again from the same record" in mux.log()
    assert not glob.glob(os.path.join(state, "handover-*"))
    # The copy of the code is the server's own: gone with it.
    mux.run("kill-server", check=True)
    client.wait_exit()  # (with the shell's status: it was hung up)
    wait_until(lambda: not glob.glob(os.path.join(state, "code-*")),
               what=f"the copy removed: {os.listdir(state)} {mux.log()[-1500:]}")


def test_upgrades_asked_at_once_each_get_an_answer(mux: Mux) -> None:
    """The check runs while the loop goes on: a second upgrade-server meanwhile is refused
    in one line (or, if it comes after the first hand-over, is one more); neither hangs."""
    mux.run("new", "-d", "-s", "a", "--", "sh", "-c", "echo alive; exec sleep 60", check=True)
    pid = sessions(mux)["a"]["pid"]
    both = [subprocess.Popen([PTYMUX, "upgrade-server"], env=mux.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL) for _ in range(2)]
    done = [(proc.wait(60), *proc.communicate(timeout=10)) for proc in both]
    upgraded = [d for d in done if d[0] == 0]
    assert upgraded, done
    for code, out, err in done:
        assert code == 0 and "upgraded" in out or (
            code == 1 and err == "ptymux: an upgrade-server is already under way\n"), done
    assert server_info(mux)["handovers"] == len(upgraded)
    assert sessions(mux)["a"]["pid"] == pid


def test_the_checks_ready_may_come_in_pieces(mux: Mux) -> None:
    """The installed check says 'ready' in two writes (as an unbuffered ``print`` does):
    the server reads a line, not a read's worth."""
    installed = _package_copy(mux.root, "0.0.1")
    mux.run("new", "-d", "-s", "a", env={**mux.env, "PYTHONPATH": installed}, check=True)
    _edit(installed, "server/handover.py", 'os.write(1, b"ready\\n")',
          'os.write(1, b"rea"); time.sleep(0.3); os.write(1, b"dy\\n")')
    _set_version(installed, "0.0.2")
    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ptymux 0.0.1 -> ptymux 0.0.2" in done.stdout


def _children(pid: int) -> list[str]:
    """The states of process ``pid``'s children (Z: a zombie nobody reaps)."""
    states = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    states.append(fields[0])
    return states


def test_the_crash_guard_abandons_an_upgrade_waiting_for_its_check(mux: Mux) -> None:
    """A bug re-executes the server while an upgrade-server waits for its check: the check
    is ended (no zombie left), the requester hears why in one line, every session stays."""
    installed = _package_copy(mux.root, "0.0.1")
    _edit(installed, "server/handover.py", 'os.write(1, b"ready\\n")',
          'time.sleep(3); os.write(1, b"ready\\n")')
    env = {**mux.env, "PYTHONPATH": installed, "PTYMUX_TEST_CRASH": "1"}
    mux.run("new", "-d", "-s", "a", "--", "sh", "-c", "echo alive; exec sleep 60", env=env,
            check=True)
    pid = sessions(mux)["a"]["pid"]
    server = mux.server_pid()
    assert server
    upgrade = subprocess.Popen([PTYMUX, "upgrade-server"], env=mux.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
    wait_until(lambda: len(_children(server)) == 2, what="the check to start")
    os.kill(server, signal.SIGUSR2)
    out, err = upgrade.communicate(timeout=60)
    assert upgrade.returncode == 1 and out == ""
    assert err == ("ptymux: the server re-executed itself from its state meanwhile (see its"
                   " log): try again\n")
    assert server_info(mux)["handovers"] == 1
    assert sessions(mux)["a"]["pid"] == pid
    assert _children(server) == ["S"]  # the session's program; no check left, no zombie


def test_a_downgrade_to_a_check_without_when_told_still_works(mux: Mux) -> None:
    """An installed ptymux from before ``--check-handover FILE --when-told`` (a downgrade:
    ``pip install ptymux==OLDER``) refuses that usage; it is then asked the older way."""
    installed = _package_copy(mux.root, "0.0.2")
    mux.run("new", "-d", "-s", "a", "--", "sh", "-c", "echo alive; exec sleep 60",
            env={**mux.env, "PYTHONPATH": installed}, check=True)
    pid = sessions(mux)["a"]["pid"]
    # 'pip install ptymux==0.0.1' under the running server: its check knows no --when-told.
    _edit(installed, "server/daemon.py", 'argv[2:] in ([], ["--when-told"])', "len(argv) == 2")
    _set_version(installed, "0.0.1")

    done = mux.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ptymux 0.0.2 -> ptymux 0.0.1" in done.stdout
    assert sessions(mux)["a"]["pid"] == pid
    assert "checking the record the older way" in mux.log()


def test_a_broken_installation_is_refused_before_the_exec(mux: Mux) -> None:
    """'pip install -U' left a module of the server broken (one the record check itself
    does not need): the check imports what the server runs, so the old server is never
    replaced by code that cannot run, and says why in one line."""
    installed = _package_copy(mux.root, "0.0.1")
    mux.run("new", "-d", "-s", "a", "--", "sh", "-c", "echo alive; exec sleep 60",
            env={**mux.env, "PYTHONPATH": installed}, check=True)
    pid = sessions(mux)["a"]["pid"]
    _set_version(installed, "0.0.2")
    _edit(installed, "server/session.py", "from __future__ import annotations\n",
          "from __future__ import annotations\ndef half written(\n")

    refused = mux.run("upgrade-server", timeout=60)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("ptymux: the installed ptymux refused the hand-over,"
                                     " the server runs on: the installed ptymux cannot run:"
                                     " SyntaxError: "), refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    info = server_info(mux)
    assert info["software"] == "ptymux 0.0.1" and info["handovers"] == 0
    assert sessions(mux)["a"]["pid"] == pid
    assert "alive" in mux.run("capture", "-t", "a", check=True).stdout


def test_check_handover_refuses_bad_records_in_one_line(mux: Mux) -> None:
    record = os.path.join(mux.root, "record.json")
    cases = {
        "not json {": "corrupt",
        json.dumps({"format": "ptymux-handover", "version": 999}): "version 999",
        json.dumps({"format": "ptymux-handover", "version": 1}): "has no",
        json.dumps([1, 2]): "not a ptymux hand-over record",
    }
    for text, reason in cases.items():
        with open(record, "w") as f:
            f.write(text)
        done = subprocess.run([sys.executable, "-P", "-m", "ptymux.server",
                               "--check-handover", record], capture_output=True, text=True,
                              timeout=30, env=mux.env)
        assert done.returncode == 1, text
        assert len(done.stdout.splitlines()) == 1 and reason in done.stdout, done.stdout
