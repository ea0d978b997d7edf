"""Bad input gets one clear line and a non-zero exit; the server and other sessions carry on."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from harness import PTYMUX, Mux, frame, raw_connect, read_replies, wait_until
from ptymux import protocol as p


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_no_server(mux: Mux) -> None:
    for args in (["ls"], ["attach"], ["kill-session", "-t", "x"], ["kill-server"],
                 ["capture"]):
        result = mux.run(*args)
        assert result.returncode == 1, args
        assert _one_line(result.stderr) == f"ptymux: no server running on {mux.socket}"


def test_missing_targets(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "keep", "--", "sleep", "60", check=True)
    for args in (["kill-session", "-t", "nope"], ["capture", "-t", "nope"]):
        result = mux.run(*args)
        assert result.returncode == 1
        assert _one_line(result.stderr) == "ptymux: can't find session: nope"
    term = mux.spawn("attach", "-t", "nope")
    assert term.wait_exit() == 1
    assert "can't find session: nope" in term.text()
    assert mux.run("ls").stdout.startswith("keep: sleep 60 ")


def test_names_and_ids(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "-s", "build", "--", "sleep", "61", check=True)
    dup = mux.run("new", "-d", "-s", "build", "--", "true")
    assert dup.returncode == 1
    assert _one_line(dup.stderr) == "ptymux: duplicate session: build"
    lines = mux.run("ls").stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["0", "build"]
    # a failed new takes no id: the duplicate attempt did not use up 2
    mux.run("new", "-d", "--", "sleep", "62", check=True)
    assert mux.run("ls").stdout.splitlines()[2].startswith("2: sleep 62")
    assert mux.run("kill-session", "-t", "1").returncode == 0  # by id
    # gone when kill-session returns, as in tmux: not listed, its name free, no second kill
    assert "build" not in mux.run("ls").stdout
    again = mux.run("kill-session", "-t", "build")
    assert again.returncode == 1 and "can't find session: build" in again.stderr
    assert mux.run("kill-session", "-t", "$0").returncode == 0  # tmux's $id form
    # ids are never reused while the server lives, even after a kill
    mux.run("new", "-d", "--", "sleep", "63", check=True)
    assert mux.run("ls").stdout.splitlines()[-1].startswith("3: sleep 63")


def test_command_not_found(mux: Mux) -> None:
    result = mux.run("new", "-d", "--", "/nonexistent/program")
    assert result.returncode == 1
    assert "can't run '/nonexistent/program'" in _one_line(result.stderr)


def test_attach_needs_a_terminal(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    result = mux.run("attach")
    assert result.returncode == 1
    assert "needs a terminal" in _one_line(result.stderr)


def test_kill_server_ends_everything(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "--", "sh", "-c", "trap '' HUP; sleep 60", check=True)
    pid = mux.server_pid()
    assert pid
    assert mux.run("kill-server", timeout=20).returncode == 0
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="the server to exit")
    assert not os.path.exists(mux.socket)
    assert not mux.leftover_processes()


def test_server_exits_with_its_last_session(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sh", "-c", "sleep 0.3", check=True)
    pid = mux.server_pid()
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="the server to exit")
    assert mux.run("ls").returncode == 1


def test_stale_socket_is_replaced(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    pid = mux.server_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="the server to die")
    assert os.path.exists(mux.socket)  # left behind
    assert mux.run("ls").stderr.strip() == f"ptymux: no server running on {mux.socket}"
    result = mux.run("new", "-d", "-s", "again", "--", "sleep", "60")
    assert result.returncode == 0, result.stderr
    assert mux.run("ls").stdout.startswith("again:")


def test_racing_starts_make_one_server(mux: Mux) -> None:
    procs = [
        subprocess.Popen([PTYMUX, "new", "-d", "--", "sleep", "60"], env=mux.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    assert len(mux.run("ls").stdout.splitlines()) == 4
    assert mux.log().count("listening on") == 1


def test_unsafe_socket_directory_is_refused(mux: Mux) -> None:
    os.makedirs(mux.socket_dir, mode=0o700)
    os.chmod(mux.socket_dir, 0o755)
    result = mux.run("new", "-d", "--", "true")
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        f"ptymux: socket directory {mux.socket_dir} has unsafe permissions 755;"
        f" run 'chmod 700 {mux.socket_dir}'"
    )


def test_labels_and_socket_paths_select_servers(mux: Mux) -> None:
    mux.run("-L", "other", "new", "-d", "-s", "o", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "-s", "d", "--", "sleep", "60", check=True)
    assert mux.run("-L", "other", "ls").stdout.startswith("o:")
    assert mux.run("ls").stdout.startswith("d:")
    path = os.path.join(mux.socket_dir, "other")
    assert mux.run("-S", path, "ls").stdout.startswith("o:")
    mux.run("-L", "other", "kill-server", check=True)


def test_nesting_is_refused_but_new_d_works(mux: Mux) -> None:
    term = mux.spawn("new", "--", "sh")
    term.wait_for("$")
    term.send(f"{PTYMUX} attach; echo rc=$?\r")
    term.wait_for("rc=1")
    assert "sessions should be nested with care, unset PTYMUX to force" in term.text()
    term.send(f"{PTYMUX} new -d -s inner -- sleep 60; echo rc=$?\r")
    term.wait_for("rc=0")
    assert "inner:" in mux.run("ls").stdout


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to act as a second user")
def test_another_user_is_refused(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "mine", "--", "sleep", "60", check=True)
    os.chmod(mux.root, 0o755)  # let 'nobody' reach the tree; the socket dir stays 0700
    as_nobody = [
        "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
        # keep the right to enter the 0700 directory, so that the server's own
        # SO_PEERCRED check is what refuses the connection
        "--inh-caps", "+dac_override", "--ambient-caps", "+dac_override",
    ]
    result = subprocess.run(
        [*as_nobody, PTYMUX, "-S", mux.socket, "ls"], env=mux.env, capture_output=True,
        text=True, timeout=10, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        "ptymux: access denied: this server belongs to uid 0, you are uid 65534"
    )
    # Pointed at our socket directory, the client itself refuses a directory not its own.
    plain = subprocess.run(
        [*as_nobody, PTYMUX, "ls"],
        env=mux.env, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
    )
    assert plain.returncode == 1
    assert "is owned by uid 0, not you (uid 65534)" in _one_line(plain.stderr)
    assert mux.run("ls").stdout.startswith("mine:")


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # reads as an oversized frame
        struct.pack(">I", p.MAX_FRAME + 1),  # oversized, refused before buffering
        struct.pack(">I", 3) + b"\xc1\xc1\xc1",  # not msgpack
        frame([1, 2, 3]),  # not a map
        frame({"t": "hello", "version": p.VERSION}) + frame({"t": "nope"}),  # unknown kind
        frame({"t": "hello", "version": p.VERSION})
        + frame({"t": "resize", "cols": -1, "rows": 5}),
        frame({"t": "hello", "version": p.VERSION})
        + frame({"t": "request", "id": 1, "command": "new", "args": {
            "argv": "sh", "cwd": "/", "env": {}, "cols": 1, "rows": 1}}),  # bad arguments
        frame({"t": "hello", "version": p.VERSION})
        + frame({"t": "request", "id": 1, "command": "ls"}),  # no arguments map
        frame({"t": "ls"}),  # unknown kind before hello
        frame({"t": "request", "id": 1, "command": "ls", "args": {}}),  # no hello first
        frame({"t": "hello", "version": 99}),  # another protocol version
    ],
)
def test_garbage_on_the_socket_leaves_the_server_serving(mux: Mux, garbage: bytes) -> None:
    mux.run("new", "-d", "-s", "victim", "--", "sh", "-c", "echo alive; sleep 60", check=True)
    sock = raw_connect(mux)
    sock.sendall(garbage)
    replies = read_replies(sock)  # the server closes the connection
    sock.close()
    assert isinstance(replies[-1], p.Error)
    assert replies[-1].message
    assert mux.run("ls").stdout.startswith("victim:")
    assert "alive" in mux.run("capture", "-t", "victim").stdout


def test_a_client_that_vanishes_mid_frame_harms_nobody(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "victim", "--", "sleep", "60", check=True)
    for _ in range(5):
        sock = raw_connect(mux)
        sock.sendall(frame({"t": "hello", "version": p.VERSION})[:5])
        sock.close()
    time.sleep(0.1)
    assert mux.run("ls").stdout.startswith("victim:")


def test_detached_size_options(mux: Mux) -> None:
    bad = mux.run("new", "-d", "-x", "5000", "--", "true")
    assert bad.returncode == 2  # a usage error
    assert "-x and -y must be within 1..1000 and 1..500" in _one_line(bad.stderr)
    mux.run("new", "-d", "-s", "sized", "-x", "100", "-y", "30", "--", "sleep", "60",
            check=True)
    assert "sized: sleep 60 (100x30)" in mux.run("ls").stdout
    # From a terminal wider than the protocol allows, the size is clamped, not refused.
    term = mux.spawn("new", "-d", "-s", "wide", "--", "sleep", "60", cols=2500, rows=30)
    assert term.wait_exit() == 0
    assert "wide: sleep 60 (1000x30)" in mux.run("ls").stdout


def _model(mux: Mux, name: str) -> str:
    """The emulator model session ``name`` got, from the server's log (the model is made
    just after 'new' is answered: waited for)."""
    def logged() -> list[str]:
        return [line for line in mux.log().splitlines() if f"({name}) model " in line]

    wait_until(logged, what=f"the log's line for session {name}'s model")
    return logged()[0].rsplit(" ", 1)[1]


def test_the_emulator_is_chosen_per_session(mux: Mux) -> None:
    from ptymux.term.ghostty_model import available

    native = "GhosttyModel" if available() else "VtModel"
    mux.run("new", "-d", "-s", "default", "--", "sleep", "60", check=True)
    assert _model(mux, "default") == "VtModel"
    for kind, model in (("vt", "VtModel"), ("pyte", "PyteModel"), ("ghostty", native)):
        mux.run("new", "-d", "-s", kind, "--", "sleep", "60",
                env={**mux.env, "PTYMUX_EMULATOR": kind}, check=True)
        assert _model(mux, kind) == model
    config = os.path.join(mux.root, "emulator.toml")
    with open(config, "w") as f:
        f.write('emulator = "pyte"\n')
    mux.run("new", "-d", "-s", "fromconfig", "--", "sleep", "60",
            env={**mux.env, "PTYMUX_CONFIG": config}, check=True)
    assert _model(mux, "fromconfig") == "PyteModel"

    bad = mux.run("new", "-d", "--", "true", env={**mux.env, "PTYMUX_EMULATOR": "fast"})
    assert bad.returncode == 1
    assert _one_line(bad.stderr) == (
        "ptymux: PTYMUX_EMULATOR=fast: unknown emulator (use vt, ghostty, pyte)"
    )
    with open(config, "w") as f:
        f.write('emulator = "fast"\n')
    bad = mux.run("new", "-d", "--", "true", env={**mux.env, "PTYMUX_CONFIG": config})
    assert bad.returncode == 1
    assert "emulator must be one of vt, ghostty, pyte" in _one_line(bad.stderr)
    assert len(mux.run("ls").stdout.splitlines()) == 5  # nothing else touched


def _command_without_site(mux: Mux, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` as the ptymux command's ``__main__`` in an interpreter without ``site``
    (this machine's site-packages register an exit handler; a venv's do not), importing
    the ptymux of this checkout."""
    import msgpack

    package = os.path.dirname(os.path.dirname(os.path.abspath(p.__file__)))
    path = [os.environ.get("PTYMUX_TEST_OLD") or package,
            os.path.dirname(os.path.dirname(os.path.abspath(msgpack.__file__)))]
    return subprocess.run(
        [sys.executable, "-S", "-P", "-c", script, *args], capture_output=True, text=True,
        env={**mux.env, "PYTHONPATH": os.pathsep.join(path)},
        timeout=20, stdin=subprocess.DEVNULL,
    )


def test_a_command_ends_without_the_interpreter_teardown_and_loses_no_output(mux: Mux) -> None:
    """With no thread and no exit handler left, the command flushes and ends at once
    (cli._exit_now): a long output still arrives whole, statuses are kept, and only the
    ptymux command itself (whose __main__ runs cli.main) is ended that way."""
    script = ("import atexit, sys\n"
              "if sys.argv[-1] == 'handler':\n"
              "    sys.argv.pop()\n"
              "    atexit.register(print, 'exit handler ran')\n"
              "from ptymux.cli import main\n"
              "code = main()\n"
              "print('teardown reached')\n"
              "raise SystemExit(code)\n")
    lines = "awk 'BEGIN{for(i=0;i<3000;i++) printf \"line %05d %060d\\n\", i, i}'"
    mux.run("new", "-d", "-s", "long", "-x", "100", "-y", "10", "--history", "5000", "--",
            "sh", "-c", f"{lines}; sleep 60", check=True)
    wait_until(lambda: "line 02999" in mux.run("capture", "-t", "long").stdout,
               what="the output")
    expected = mux.run("capture", "-t", "long", "-S", "-5000", check=True).stdout

    fast = _command_without_site(mux, script, "capture", "-t", "long", "-S", "-5000")
    assert (fast.returncode, fast.stderr) == (0, "")
    assert fast.stdout == expected  # whole, and nothing after main() ran
    missing = _command_without_site(mux, script, "kill-session", "-t", "nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "ptymux: can't find session: nope\n"

    # An exit handler (or a caller that is not the command) gets the usual exit.
    handled = _command_without_site(mux, script, "ls", "handler")
    assert handled.returncode == 0
    assert handled.stdout.endswith("teardown reached\nexit handler ran\n")
