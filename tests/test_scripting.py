"""Commands for scripts: has-session, rename-session, send-keys, ls -F / --json."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from harness import PTYMUX, Mux, wait_until

# Shows each read from its terminal (raw mode) as hex, one line per read; with an argument,
# first switches the cursor keys to application mode (DECCKM) as vim and less do.
SHOW_KEYS = (
    "import os, sys, tty\n"
    "tty.setraw(0)\n"
    "if len(sys.argv) > 1: os.write(1, b'\\x1b[?1h')\n"
    "os.write(1, b'ready\\r\\n')\n"
    "while True:\n"
    "    data = os.read(0, 1024)\n"
    "    os.write(1, b'<' + data.hex().encode() + b'>\\r\\n')\n"
)


def _keys_seen(mux: Mux, name: str, count: int) -> list[str]:
    def seen() -> list[str]:
        out = mux.run("capture", "-t", name).stdout
        return [w[1:-1] for w in out.split() if w.startswith("<") and w.endswith(">")]

    return wait_until(lambda: (s := seen()) and len("".join(s)) >= count and s,
                      what=f"{count} hex digits of keys in {name}")


def test_has_session_is_silent(mux: Mux) -> None:
    none = mux.run("has-session", "-t", "x")
    assert (none.returncode, none.stdout, none.stderr) == (1, "", "")  # no server at all
    mux.run("new", "-d", "-s", "job", "--", "sleep", "60", check=True)
    for target, status in (("job", 0), ("$0", 0), ("jo", 0), ("nope", 1)):
        result = mux.run("has", "-t", target)
        assert (result.returncode, result.stdout, result.stderr) == (status, "", ""), target


def test_rename_session(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "old", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "-s", "other", "--", "sleep", "60", check=True)
    assert mux.run("rename-session", "-t", "old", "new").returncode == 0
    listing = mux.run("ls").stdout
    assert "new: sleep 60" in listing and "old" not in listing
    assert mux.run("has-session", "-t", "new").returncode == 0
    taken = mux.run("rename", "-t", "new", "other")
    assert (taken.returncode, taken.stderr) == (1, "ptymux: duplicate session: other\n")
    bad = mux.run("rename", "-t", "new", "a b")
    assert bad.returncode == 2 and "bad session name 'a b'" in bad.stderr
    missing = mux.run("rename", "-t", "gone", "x")
    assert (missing.returncode, missing.stderr) == (1, "ptymux: can't find session: gone\n")
    assert mux.run("rename", "-t", "new", "new").returncode == 0  # its own name: fine


def test_send_keys_with_key_names_and_the_programs_cursor_mode(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "plain", "--", sys.executable, "-c", SHOW_KEYS, check=True)
    mux.run("new", "-d", "-s", "app", "--", sys.executable, "-c", SHOW_KEYS, "app",
            check=True)
    for name in ("plain", "app"):
        wait_until(lambda n=name: "ready" in mux.run("capture", "-t", n).stdout,  # type: ignore[misc]
                   what=f"{name} to start")
    assert mux.run("send-keys", "-t", "plain", "C-c").returncode == 0
    assert _keys_seen(mux, "plain", 2) == ["03"]
    mux.run("send-keys", "-t", "plain", "Up", check=True)
    mux.run("send-keys", "-t", "app", "Up", check=True)
    assert _keys_seen(mux, "plain", 8)[-1] == "1b5b41"  # ESC [ A
    assert _keys_seen(mux, "app", 6)[-1] == "1b4f41"  # ESC O A: the program asked for it
    mux.run("send", "-t", "plain", "-l", "Enter", check=True)  # -l: the word as text
    assert _keys_seen(mux, "plain", 18)[-1] == "456e746572"
    mux.run("send", "-t", "plain", "-H", "68", "69", check=True)
    assert _keys_seen(mux, "plain", 22)[-1] == "6869"
    mux.run("send", "-t", "plain", "hi", "M-x", "Enter", check=True)
    assert "".join(_keys_seen(mux, "plain", 32)[-3:]).endswith("68691b780d")
    bad = mux.run("send", "-t", "plain", "-H", "zz")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "zz" in bad.stderr
    missing = mux.run("send", "-t", "nope", "x")
    assert (missing.returncode, missing.stderr) == (1, "ptymux: can't find session: nope\n")


def test_ls_formats_and_json(mux: Mux, tmp_path: object) -> None:
    here = str(tmp_path)
    os.makedirs(here, exist_ok=True)
    mux.run("new", "-d", "-s", "fmt", "-x", "100", "-y", "30", "--", "sh", "-c",
            f"cd {here} && exec sleep 60", check=True)
    wait_until(lambda: "sleep" in mux.run("ls", "-F", "#{pane_current_command}").stdout,
               what="sleep to run")
    line = mux.run("ls", "-F", "#{session_id} #{session_name} #{session_width}x"
                   "#{session_height} #{session_attached} #{pane_current_command}"
                   " #{pane_current_path} #{?session_attached,on,off}")
    assert line.stdout == f"$0 fmt 100x30 0 sleep {here} off\n"
    data = json.loads(mux.run("ls", "--json").stdout)
    assert len(data) == 1 and data[0]["name"] == "fmt" and data[0]["cols"] == 100
    assert data[0]["current_command"] == "sleep" and data[0]["current_path"] == here
    assert set(data[0]) >= {"id", "name", "command", "cols", "rows", "created", "attached",
                            "pid", "current_command", "current_path"}
    bad = mux.run("ls", "-F", "#{sesion_name}")
    assert bad.returncode == 2 and "session_name" in bad.stderr  # the nearest name
    assert mux.run("ls").stdout.startswith("fmt: sh -c ")
    assert mux.run("ls").stdout.rstrip().endswith("(id $0)")


def test_new_with_a_directory_variables_and_a_log(mux: Mux, tmp_path: object) -> None:
    where = os.path.join(str(tmp_path), "work dir")
    os.makedirs(where)
    log = os.path.join(str(tmp_path), "out.log")
    mux.run("new", "-d", "-s", "env", "-c", where, "-e", "GREETING=hello world", "-e",
            "EMPTY=", "--log", log, "--", "sh", "-c",
            'printf "%s|%s|%s\\n" "$PWD" "$GREETING" "${EMPTY-unset}"; sleep 60', check=True)
    wait_until(lambda: os.path.exists(log) and b"\n" in pathlib.Path(log).read_bytes(),
               what="the log")
    with open(log, "rb") as f:
        assert f.read() == f"{where}|hello world|\r\n".encode()
    assert os.stat(log).st_mode & 0o777 == 0o600
    for bad, message in ((["-e", "NOVALUE"], "-e takes VAR=value, not 'NOVALUE'"),
                         (["-e", "=x"], "-e takes VAR=value, not '=x'")):
        result = mux.run("new", "-d", *bad, "--", "true")
        assert (result.returncode, result.stderr) == (2, f"ptymux: {message}\n")
    missing = mux.run("new", "-d", "-c", "/nonexistent/dir", "--", "true")
    assert (missing.returncode, missing.stderr) == (
        1, "ptymux: -c /nonexistent/dir: no such directory\n")
    unwritable = mux.run("new", "-d", "--log", "/proc/nope/log", "--", "true")
    assert unwritable.returncode == 1 and "can't open the log /proc/nope/log" in unwritable.stderr
    assert mux.run("ls").stdout.count("\n") == 1  # nothing half-made


def test_new_A_attaches_to_an_existing_session(mux: Mux) -> None:
    assert mux.run("new", "-d", "-A", "--", "true").returncode == 2  # -A needs -s
    mux.run("new", "-d", "-A", "-s", "once", "--", "sh", "-c", "echo first; sleep 60",
            check=True)
    mux.run("new", "-d", "-A", "-s", "once", "--", "sh", "-c", "echo second; sleep 60",
            check=True)  # exists: nothing new
    assert mux.run("ls").stdout.count("\n") == 1
    term = mux.spawn("new", "-A", "-s", "once", "--", "sh", "-c", "echo third; sleep 60")
    term.wait_for("first")
    assert "third" not in term.text()
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    assert mux.run("ls").stdout.count("\n") == 1


# --- wait -----------------------------------------------------------------------------------


def test_wait_for_a_running_program(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "job", "--", "sh", "-c", "sleep 0.5; exit 3", check=True)
    assert mux.run("wait", "-t", "job").returncode == 3
    mux.run("new", "-d", "-s", "sig", "--", "sh", "-c", "sleep 0.3; kill -TERM $$", check=True)
    assert mux.run("wait", "-t", "sig").returncode == 128 + 15
    assert "job" not in mux.run("ls", "-a").stdout  # read by wait: nothing kept


def test_wait_after_the_program_ended_and_ls_a(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "keep", "--", "sleep", "60", check=True)
    mux.run("new", "-d", "-s", "quick", "--", "sh", "-c", "exit 5", check=True)
    wait_until(lambda: "quick" not in mux.run("ls").stdout, what="quick to end")
    assert "quick: sh -c 'exit 5' (exited, status 5) (id $1)" in mux.run("ls", "-a").stdout
    assert json.loads(mux.run("ls", "-a", "--json").stdout)[1]["exited"] is True
    assert mux.run("wait", "-t", "quick").returncode == 5
    assert "quick" not in mux.run("ls", "-a").stdout
    again = mux.run("wait", "-t", "quick")
    assert (again.returncode, again.stderr) == (1, "ptymux: can't find session: quick\n")
    # kill-session clears a kept status
    mux.run("new", "-d", "-s", "other", "--", "sh", "-c", "exit 6", check=True)
    wait_until(lambda: "other" in mux.run("ls", "-a").stdout and
               "other" not in mux.run("ls").stdout, what="other to end")
    assert mux.run("kill-session", "-t", "other").returncode == 0
    assert "other" not in mux.run("ls", "-a").stdout


def test_wait_after_the_end_stopped_the_server(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "last", "--", "sh", "-c", "exit 7", check=True)
    wait_until(lambda: mux.server_pid() is None, what="the server to exit")
    assert "last: sh -c 'exit 7' (exited, status 7)" in mux.run("ls", "-a").stdout
    assert mux.run("ls").returncode == 1  # no server
    assert mux.run("wait", "-t", "last").returncode == 7
    assert mux.run("wait", "-t", "$0").returncode == 1  # read: gone


def test_a_ci_style_script(mux: Mux) -> None:
    script = f"""
set -e
ptm() {{ "{PTYMUX}" "$@"; }}
ptm new -d -s ci -- sh -c 'read line; echo "got $line"; sleep 0.3; exit 4'
ptm send-keys -t ci hello Enter
until ptm capture -t ci | grep -q 'got hello'; do sleep 0.05; done
ptm capture -t ci | grep 'got hello'
set +e
ptm wait -t ci
echo "status $?"
"""
    result = subprocess.run(["sh", "-c", script], env=mux.env, capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.stdout == "got hello\nstatus 4\n", result.stderr


def test_status_records_are_bounded_and_survive_bad_lines(tmp_path: pathlib.Path) -> None:
    from ptymux import protocol as p
    from ptymux import statuses

    path = str(tmp_path / "s" / "server-x.ended")
    count = 3000  # past COMPACT_SIZE (~2500 records): the file is rewritten on the way
    for i in range(count):
        if i % 300 == 0:
            with open(path, "a") if os.path.exists(path) else open(os.devnull, "w") as f:
                f.write("not json\n{\"id\": 1}\n")  # a torn or foreign line is skipped
        statuses.add(path, p.EndedInfo(i, f"s{i}", "true", 0, None, 1.0))
    records = statuses.read(path)
    assert len(records) == statuses.MAX_RECORDS and records[0].id == count - 1000
    assert os.path.getsize(path) <= statuses.COMPACT_SIZE
    assert os.stat(path).st_mode & 0o777 == 0o600
    taken = statuses.take(path, "$2999")
    assert taken is not None and taken.name == "s2999"
    assert statuses.exit_code(taken.status, taken.signal) == 0
    assert statuses.take(path, "s2999") is None
    assert statuses.take(path, "s2500") is not None  # by name
    assert statuses.exit_code(None, 9) == 137
    assert statuses.exit_code(300, None) == 1  # not a real status


# --- start-server and the systemd unit --------------------------------------------------------


def test_start_server_stays_up_without_sessions(mux: Mux) -> None:
    assert mux.run("start-server").returncode == 0
    pid = mux.server_pid()
    assert pid and mux.run("ls").returncode == 0
    mux.run("new", "-d", "--", "true", check=True)  # the only session ends at once
    wait_until(lambda: mux.run("ls").stdout == "", what="the session to end")
    assert mux.server_pid() == pid  # still there
    assert mux.run("start-server").returncode == 0  # already running: left as it is
    assert mux.server_pid() == pid
    assert mux.run("kill-server").returncode == 0
    wait_until(lambda: mux.server_pid() is None, what="the server to exit")


def test_start_server_in_the_foreground_as_a_service_runs_it(mux: Mux) -> None:
    service = subprocess.Popen([PTYMUX, "start-server", "--foreground"], env=mux.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: mux.server_pid() == service.pid, what="the service's server")
        mux.run("new", "-d", "-s", "svc", "--", "sleep", "60", check=True)
        assert mux.run("ls").stdout.startswith("svc:")
        again = mux.run("start-server", "--foreground")
        assert again.returncode == 1 and "already running" in again.stderr
        service.terminate()  # what stopping the unit does
        assert service.wait(10) == 0
        assert mux.run("ls").returncode == 1
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(5)


def test_the_systemd_unit_runs_a_real_command() -> None:
    from ptymux.commands import lookup

    unit = pathlib.Path(__file__).resolve().parents[1] / "contrib" / "systemd" / "ptymux.service"
    lines = dict(line.split("=", 1) for line in unit.read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    for key in ("ExecStart", "ExecStop"):
        words = lines[key].split()
        assert words[:2] == ["/usr/bin/env", "ptymux"], lines[key]
        entry = lookup(words[2])
        assert entry is not None, words[2]
        flags = {n for a in entry.args for n in a.names}
        assert set(words[3:]) <= flags, (key, words)


def test_remain_on_exit_keeps_the_last_screen_until_killed(mux: Mux) -> None:
    mux.run("new", "-d", "--remain-on-exit", "-s", "dead", "--", "sh", "-c",
            "printf 'last words\\n'; exit 3", check=True)
    wait_until(lambda: "(exited, status 3)" in mux.run("ls").stdout, what="the end")
    assert mux.run("ls", "-F", "#{session_name}").stdout == "dead\n"
    assert "last words" in mux.run("capture", "-t", "dead").stdout
    assert mux.run("wait", "-t", "dead").returncode == 3  # at once: its status is known
    assert mux.run("wait", "-t", "dead").returncode == 3  # and it stays until killed
    term = mux.spawn("attach", "-t", "dead")
    term.wait_for("last words")  # a full redraw of the last screen
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    server = mux.server_pid()
    assert server is not None  # the dead session keeps the server
    assert mux.run("kill-session", "-t", "dead").returncode == 0
    assert mux.run("has-session", "-t", "dead").returncode == 1
    wait_until(lambda: mux.server_pid() is None, what="the server to exit")


def test_kill_server_ends_a_kept_session_at_once(mux: Mux) -> None:
    mux.run("new", "-d", "--remain-on-exit", "-s", "dead", "--", "true", check=True)
    wait_until(lambda: "(exited, status 0)" in mux.run("ls").stdout, what="the end")
    term = mux.spawn("attach", "-t", "dead")
    wait_until(lambda: "(attached)" in mux.run("ls").stdout, what="the attach")
    assert mux.run("kill-server", timeout=5).returncode == 0
    assert term.wait_exit() == 0
    assert "[exited (session dead, status 0)]" in term.text()


def test_pane_current_path_prefers_what_the_shell_reported(mux: Mux) -> None:
    """OSC 7 (a shell's terminal integration) says where the shell is, also over ssh,
    where /proc would say the ssh client's directory."""
    script = "printf '\\033]7;file://far-host/srv/some%%20dir\\033\\\\'; sleep 60"
    mux.run("new", "-d", "-s", "osc7", "-c", "/tmp", "--", "sh", "-c", script, check=True)
    mux.run("new", "-d", "-s", "plain", "-c", "/tmp", "--", "sleep", "60", check=True)
    fmt = "#{session_name}=#{pane_current_path}"
    wait_until(lambda: "osc7=/srv/some dir" in mux.run("ls", "-F", fmt).stdout,
               what="the reported directory")
    assert "plain=/tmp" in mux.run("ls", "-F", fmt).stdout
