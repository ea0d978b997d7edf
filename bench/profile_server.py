#!/usr/bin/env python3
"""Where the ptymux server spends its time during an attached flood, sampled with py-spy.

    python bench/profile_server.py [--kind plain|colour] [--mb N] [--py-spy PATH]

py-spy is not a dependency: install it apart (``python -m venv /tmp/tools &&
/tmp/tools/bin/pip install py-spy``) and pass its path. Prints the MB/s of the flood and the
functions with the largest share of the server's (and the client's) busy samples.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

from drivers import Ptymux, Terminal, kill_pids, processes_mentioning
from workloads import READY, SENTINEL, colour_lines, flood_cmd, plain_lines


def top(path: str, count: int) -> list[tuple[float, float, str]]:
    """(inclusive %, self %, frame) of a py-spy raw (collapsed stacks) file."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            total += int(n)
            own[frames[-1]] += int(n)
            for frame in set(frames):
                inclusive[frame] += int(n)
    skip = ("asyncio", "runpy", "<module>", "selectors.py")
    rows = [(100 * n / total, 100 * own[f] / total, f) for f, n in inclusive.most_common()
            if not any(s in f for s in skip)]
    return rows[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["plain", "colour"], default="colour")
    parser.add_argument("--mb", type=float, default=8)
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy binary")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if not args.py_spy:
        print("py-spy not found: install it apart and pass --py-spy PATH", file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="ptymux-profile-")
    try:
        data = os.path.join(root, "data.txt")
        make = plain_lines if args.kind == "plain" else colour_lines
        with open(data, "wb") as f:
            f.write(make(args.mb * 1e6))
        mux = Ptymux(root)
        term = Terminal(mux.new_attached(flood_cmd(mux, data)), mux.env)
        try:
            if term.expect(READY, 30) is None:
                raise SystemExit("the session did not start")
            term.drain(0.3)
            spies = {}
            for who, pid in (("server", mux.server_pids()[0]), ("client", term.pid)):
                out = os.path.join(root, f"{who}.txt")
                spies[who] = (out, subprocess.Popen(
                    [args.py_spy, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", out],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.5)
            with open(mux.path("go"), "w"):
                pass
            t0 = time.monotonic()
            t1 = term.expect(SENTINEL, 60 + args.mb * 20)
            for _, spy in spies.values():
                spy.send_signal(2)  # SIGINT: py-spy writes what it has
                spy.wait(30)
        finally:
            term.close()
            mux.cleanup()
        if t1 is None:
            print("the flood did not finish in time")
        else:
            print(f"{args.kind} flood: {args.mb / (t1 - t0):.2f} MB/s")
        for who, (out, _) in spies.items():
            if not os.path.exists(out):
                print(f"{who}: no profile (py-spy needs ptrace rights)")
                continue
            print(f"\n{who}: inclusive% self%  (busy samples only)")
            for inc, own, frame in top(out, args.top):
                print(f"  {inc:5.1f} {own:5.1f}  {frame}")
    finally:
        kill_pids(processes_mentioning(root))
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
