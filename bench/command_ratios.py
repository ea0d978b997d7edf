"""Warm commands and the first ``new -d`` against ``python -c pass`` (issue #9's ratios).

    python bench/command_ratios.py [--python VENV/bin/python] [--rounds 15]

A quicker loop than ``bench/run.py --only commands``, for an installed ptymux (a venv made
with ``python -m venv V && V/bin/pip install .``: cached bytecode, no editable finder, as a
user has it). Each round: ``python -c pass``, then in a fresh socket directory the first
``new -d`` (which starts the server), the command right after it (``ls``: it waits for the
rest of the server's start, since the first ``new -d`` is answered before the server's loop
exists), then, warm, ``ls``, ``has-session``, ``send-keys``, and ``kill-server``.
Prints the mean of the fastest quarter of the rounds (the least disturbed by other work on the
machine) and each as a multiple of ``python -c pass``. Prints figures, never fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def _timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one command. Waited for with a blocking wait and a watchdog thread, not
    ``subprocess.run(timeout=...)``: that polls with sleeps of up to 50 ms, and this VM's
    figures came out in steps of its ~16 ms timer tick."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        proc.wait()
    finally:
        watchdog.cancel()
    return time.perf_counter() - start


def _fastest_quarter(values: list[float]) -> float:
    ordered = sorted(values)
    return statistics.mean(ordered[: max(3, len(ordered) // 4)]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the venv ptymux is installed in")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--raw", action="store_true", help="also print every round's figure")
    args = parser.parse_args()
    ptymux = os.path.join(os.path.dirname(args.python), "ptymux")
    times: dict[str, list[float]] = {name: [] for name in (
        "python -c pass", "first new -d", "the next command", "ls", "has-session",
        "send-keys")}
    for _ in range(args.rounds):
        root = tempfile.mkdtemp(prefix="ptymux-ratios-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PTYMUX", "TMUX"))}
        env.update(PTYMUX_SOCKET_DIR=os.path.join(root, "s"),
                   XDG_STATE_HOME=os.path.join(root, "st"))
        try:
            times["python -c pass"].append(_timed([args.python, "-c", "pass"], env))
            times["first new -d"].append(
                _timed([ptymux, "new", "-d", "-s", "x", "--", "sleep", "60"], env))
            times["the next command"].append(_timed([ptymux, "ls"], env))
            times["ls"].append(_timed([ptymux, "ls"], env))
            times["has-session"].append(_timed([ptymux, "has-session", "-t", "x"], env))
            times["send-keys"].append(_timed([ptymux, "send-keys", "-t", "x", "a"], env))
        finally:
            subprocess.run([ptymux, "kill-server"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
            shutil.rmtree(root, ignore_errors=True)
    if args.raw:
        for name, values in times.items():
            print(f"{name:16s} " + " ".join(f"{v * 1000:.1f}" for v in values))
    base = _fastest_quarter(times["python -c pass"])
    for name, values in times.items():
        ms = _fastest_quarter(values)
        print(f"{name:16s} {ms:7.2f} ms  {ms / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
