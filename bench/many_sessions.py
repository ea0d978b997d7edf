"""Many detached sessions in one server: `ls` time and server memory, ptymux beside tmux.

    python bench/many_sessions.py [--sessions 1000]

Issue 11's scale figures: with N detached sessions, `ls` within 2x its time with one
session, and the server's RSS under 300 MB. Each session runs `sleep` (no output), so this
measures what a session costs at rest. tmux gets the same sessions in a private server
(-L) in the same run. Prints figures; never fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from drivers import private_ptymux_env, ptymux_binary

REPEAT = 15


def _median_ms(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ptymux_figures(count: int) -> tuple[float, float, float]:
    """(ls ms with 1 session, ls ms with ``count``, server RSS MB with ``count``)."""
    root = tempfile.mkdtemp(prefix="ptm-bench-")
    env = private_ptymux_env(root)
    exe = ptymux_binary() or "ptymux"
    old = {k: os.environ.get(k) for k in ("PTYMUX_SOCKET_DIR", "XDG_STATE_HOME",
                                          "PTYMUX_CONFIG")}
    os.environ.update({k: env[k] for k in old})
    try:
        from ptymux import api

        server = api.Server()
        server.new(["sleep", "3600"])
        one = _median_ms([exe, "ls"], env)
        for _ in range(count - 1):
            server.new(["sleep", "3600"])
        many = _median_ms([exe, "ls"], env)
        listed = len(server.listing().sessions)
        assert listed == count, f"{listed} sessions listed, {count} made"
        with open(os.path.join(root, "state", "ptymux", "server-default.pid")) as f:
            pid = int(f.read())
        rss = _rss_mb(pid)
        return one, many, rss
    finally:
        subprocess.run([exe, "kill-server"], env=env, capture_output=True, timeout=60)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


def tmux_figures(count: int) -> tuple[float, float, float] | None:
    if shutil.which("tmux") is None:
        return None
    label = f"ptymux-bench-many-{os.getpid()}"
    tmux = ["tmux", "-L", label, "-f", "/dev/null"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    try:
        subprocess.run([*tmux, "new-session", "-d", "sleep", "3600"], env=env, check=True)
        one = _median_ms([*tmux, "list-sessions"], env)
        for _ in range(count - 1):
            subprocess.run([*tmux, "new-session", "-d", "sleep", "3600"], env=env, check=True)
        many = _median_ms([*tmux, "list-sessions"], env)
        pid = int(subprocess.run([*tmux, "display", "-p", "#{pid}"], env=env,
                                 capture_output=True, text=True, check=True).stdout)
        return one, many, _rss_mb(pid)
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    count = parser.parse_args().sessions
    rows = [("ptymux", ptymux_figures(count)), ("tmux", tmux_figures(count))]
    print(f"{count} detached sessions (sleep), one server; ls median of {REPEAT}")
    print(f"{'':8} {'ls, 1 (ms)':>11} {'ls, N (ms)':>11} {'N/1':>6} {'RSS, N (MB)':>12}")
    for name, figures in rows:
        if figures is None:
            print(f"{name:8} (not installed)")
            continue
        one, many, rss = figures
        print(f"{name:8} {one:11.1f} {many:11.1f} {many / one:6.2f} {rss:12.1f}")


if __name__ == "__main__":
    main()
