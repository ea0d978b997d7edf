"""How fast the session switcher opens: from calling it to its first full screen.

    python bench/switcher.py [--sessions 100] [--runs 5] [--cols 120] [--rows 40]

A real server with N sessions (each showing a line of text), and a client process in a real
pty (the user's terminal, read here through pyte) that connects, puts the terminal in raw
mode as the attach loop does, and then opens the switcher twice:

- cold: the first opening in the process, which pays prompt_toolkit's import (the client
  imports ``ptymux.client.switcher`` only when the switcher opens), as the first Ctrl-P
  Ctrl-O of an attached client does;
- warm: a second opening in the same process, as every later Ctrl-P Ctrl-O does.

The clock starts in the client just before the import (cold) or the call (warm) and stops
when the pty has delivered a screen with everything on it: the header with the session
count, the hint line, and the highlighted session's preview with its title. Both clocks are
CLOCK_MONOTONIC, which is one clock for every process on Linux. The target (issue 10) is
under 300 ms cold with 100 sessions. Prints numbers; never fails a build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import pyte

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from drivers import Terminal  # noqa: E402

from ptymux import protocol as p  # noqa: E402
from ptymux.client.connection import connect  # noqa: E402
from ptymux.paths import resolve  # noqa: E402

# The client: connect (not timed: an attached client has its connection), raw mode, then
# open the switcher twice on the session in the middle, each time when the bench says go (a
# key); each opening's start goes to the report fd, each Choice after it.
CLIENT = r"""
import os, sys, time, tty
from ptymux.client.connection import connect
from ptymux.client.switcher_host import SwitcherHost
from ptymux.paths import resolve
from ptymux import protocol as p

report, current = int(sys.argv[1]), int(sys.argv[2])
conn = connect(resolve())
host = SwitcherHost(conn, lambda: p.NewSession(argv=[], cwd="/", env={}, cols=80, rows=24,
                                               detached=True))
tty.setraw(0)
bindings = [("Ctrl-P Ctrl-Q", "detach"), ("Ctrl-P Ctrl-O", "session switcher")]
for phase in ("cold", "warm"):
    os.read(0, 1)  # the bench's go: it has read everything before
    os.write(report, f"{phase} {time.monotonic()!r}\n".encode())
    from ptymux.client.switcher import run_switcher
    choice = run_switcher(host, current, bindings)
    os.write(report, f"done {choice.action}\n".encode())
"""


def _read_line(fd: int, timeout: float) -> str:
    import select

    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"the client said nothing in {timeout} s (so far: {line!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            raise EOFError(f"the client ended (so far: {line!r})")
        line += chunk
    return line.decode().strip()


def _open_once(term: Terminal, report: int, sessions: int, current: int, cols: int,
               rows: int) -> tuple[str, float]:
    """One opening: (its phase, seconds from the client's clock start to the full screen)."""
    phase, started = _read_line(report, 30).split()
    screen = pyte.Screen(cols, rows)
    stream = pyte.Stream(screen)
    needles = (f"{sessions} sessions", "q:back", f"── {current}: s{current:03} ",
               f"screen of session {current}")
    deadline = time.monotonic() + 30
    while True:
        chunk = term._read(max(0.0, deadline - time.monotonic()))
        now = time.monotonic()
        if not chunk and (term.closed or now > deadline):
            raise TimeoutError("no full screen; it shows:\n" + "\n".join(screen.display))
        stream.feed(chunk.decode(errors="replace"))
        text = "\n".join(screen.display)
        if all(n in text for n in needles):
            break
    term.write(b"q")
    done = _read_line(report, 10)
    assert done == "done back", done
    return phase, now - float(started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5, help="client processes (each: cold, warm)")
    parser.add_argument("--cols", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="ptymux-bench-switcher-")
    config = os.path.join(root, "config.toml")
    open(config, "w").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTYMUX", "TMUX"))}
    env.update(PTYMUX_SOCKET_DIR=os.path.join(root, "s"), XDG_STATE_HOME=os.path.join(root, "st"),
               PTYMUX_CONFIG=config, TERM="xterm-256color", LANG="C.UTF-8")
    os.environ.clear()
    os.environ.update(env)  # the server started below, and the clients, live in root
    conn = connect(resolve(), start=True)
    try:
        for i in range(args.sessions):
            script = f"echo screen of session {i}; exec sleep 600"
            conn.request(p.NewSession(argv=["sh", "-c", script], cwd=root, env=env, cols=80,
                                      rows=24, name=f"s{i:03}", detached=True))
        current = args.sessions // 2
        time.sleep(0.3)  # the sessions' first lines
        results: dict[str, list[float]] = {"cold": [], "warm": []}
        for _ in range(args.runs):
            read_fd, write_fd = os.pipe()
            os.set_inheritable(write_fd, True)
            term = Terminal([sys.executable, "-c", CLIENT, str(write_fd), str(current)], env,
                            args.cols, args.rows)
            os.close(write_fd)
            try:
                for _phase in ("cold", "warm"):
                    term.drain(0.2)  # the last opening's way out: not part of the next
                    term.write(b"g")
                    phase, seconds = _open_once(term, read_fd, args.sessions, current,
                                                args.cols, args.rows)
                    results[phase].append(seconds)
                term.wait(10)
            finally:
                term.close()
                os.close(read_fd)
        print(f"switcher, {args.sessions} sessions, {args.cols}x{args.rows}, {args.runs} runs:"
              " call -> first full screen (ms)")
        for phase, values in results.items():
            ms = [v * 1000 for v in values]
            print(f"  {phase:5} median {statistics.median(ms):6.1f}  min {min(ms):6.1f}"
                  f"  max {max(ms):6.1f}")
        return 0
    finally:
        conn.request(p.KillServer())
        conn.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
