"""The pause of ``upgrade-server`` with many sessions (docs/performance.md, "Upgrade").

    python bench/upgrade.py [--sessions 100] [--history 2000]

N detached sessions, each with ``--history`` lines of scrollback and then ``sleep``; one more
session ticks: a program that writes its clock (and 4 KiB of padding, so that the pty fills
and the program blocks within a few ms when the server stops reading) every 2 ms into a
``--log`` file. Prints the time from the ``upgrade-server`` request to its reply and the
longest gap between two ticks around it: how long a running program was held. Not a test:
prints figures, never fails.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

from drivers import private_ptymux_env, ptymux_binary

TICKER = ("import sys, time\n"
          "while True:\n"
          "    sys.stdout.write(f'T{time.time():.6f} ' + 'x' * 4000 + '\\n')\n"
          "    sys.stdout.flush()\n"
          "    time.sleep(0.002)\n")


def ticks(path: str) -> list[float]:
    out = []
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"T"):
                try:
                    out.append(float(line[1:].split(b" ", 1)[0]))
                except ValueError:
                    continue
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--history", type=int, default=2000)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ptm-bench-")
    env = private_ptymux_env(root)
    exe = ptymux_binary() or "ptymux"

    def ptymux(*argv: str) -> str:
        return subprocess.run([exe, *argv], env=env, capture_output=True, text=True,
                              check=True, timeout=120).stdout

    try:
        for i in range(args.sessions):
            ptymux("new", "-d", "-s", f"s{i}", "--", "sh", "-c",
                   f"seq 1 {args.history}; exec sleep 3600")
        log = os.path.join(root, "ticks.log")
        ptymux("new", "-d", "-s", "ticker", "--log", log, "--", sys.executable, "-c", TICKER)
        time.sleep(2.0)  # every session has printed its history; the ticker ticks
        start = time.time()
        t0 = time.perf_counter()
        said = ptymux("upgrade-server")
        elapsed = time.perf_counter() - t0
        time.sleep(1.0)
        stamps = [t for t in ticks(log) if start - 1.0 <= t]
        gap, at = max(((b - a, a) for a, b in zip(stamps, stamps[1:], strict=False)),
                      default=(0.0, start))
        print(said.strip())
        print(f"sessions: {args.sessions} (+1 ticking), history {args.history} lines each")
        print(f"upgrade-server, request to reply: {elapsed * 1000:.0f} ms")
        print(f"longest gap in the ticking session's output: {gap * 1000:.0f} ms, from"
              f" {(at - start) * 1000:.0f} ms after the request")
        for path in glob.glob(os.path.join(root, "**", "*.log"), recursive=True):
            with open(path, errors="replace") as f:
                for line in f:  # the server's own account of the pause's parts
                    if "(record:" in line or "upgrade: took over" in line:
                        print("server log:", line.split("(record:")[-1].split("upgrade: ")[-1]
                              .strip().rstrip(")"))
    finally:
        subprocess.run([exe, "kill-server"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
