#!/usr/bin/env python3
"""ptymux against tmux (and GNU screen and dtach where installed), side by side.

    python bench/run.py [--quick] [--only NAME...] [--mb N] [--mux NAME...] [--emulator NAME]
                        [--json FILE]

Every multiplexer runs the same workloads, driven through real ptys the way a user's terminal
would drive it; the table gives each figure and ptymux's ratio to tmux. This is a
measurement, not a test: it exits 0 whatever the figures are (2 only on a usage error).
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

from drivers import ALL, Mux, Ptymux, kill_pids, processes_mentioning
from over_ssh import over_ssh
from workloads import WORKLOADS, Figure, Settings, Target

WORKLOADS["ssh"] = over_ssh  # ptymux -H against ssh -t tmux (bench/over_ssh.py)

ORDER = ["ptymux", "tmux", "screen", "dtach", "raw"]


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "-"
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
            else "-"

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "revision": revision(),
        "model": screen_model(),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "ptymux": Ptymux.binary,
        "tmux": version(["tmux", "-V"]) if shutil.which("tmux") else "-",
        "screen": version(["screen", "-v"]) if shutil.which("screen") else "-",
        "dtach": version(["dtach", "--help"]) if shutil.which("dtach") else "-",
    }


def revision() -> str:
    """The ptymux commit measured, marked dirty when the package has uncommitted changes."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(["git", "-C", top, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--", "ptymux"],
                               capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def screen_model() -> str:
    """The emulator model class a new session gets, asked of the installed package."""
    code = ("import os; from ptymux.term import create_model;"
            " print(type(create_model(80, 24, 10, os.environ.get('PTYMUX_EMULATOR'))).__name__)")
    env = dict(os.environ)
    if Ptymux.emulator:
        env["PTYMUX_EMULATOR"] = Ptymux.emulator
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=30, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() or "?"


def ratio(fig: Figure) -> float | None:
    a, b = fig.values.get("ptymux"), fig.values.get("tmux")
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(fig: Figure, target: Target) -> str:
    r = ratio(fig)
    value = fig.values.get("ptymux")
    if target.kind.startswith("ratio"):
        if r is None:
            return "?"
        ok = r >= target.limit if target.kind == "ratio>=" else r <= target.limit
    else:
        if value is None:
            return "?"
        ok = value < target.limit if target.kind == "<" else value <= target.limit
    return "ok" if ok else "MISS"


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(figures: list[Figure], names: list[str]) -> str:
    header = ["figure", "unit", *names, "ptymux/tmux", "target"]
    rows = [header]
    for fig in figures:
        r = ratio(fig)
        arrow = "higher is better" if fig.better == "higher" else "lower is better"
        targets = ", ".join(f"{t.describe()}: {verdict(fig, t)}" for t in fig.targets)
        rows.append([
            fig.label, fig.unit, *(fmt(fig.values.get(n)) if n in fig.values else "n/a"
                                   for n in names),
            f"{r:.2f}x ({arrow})" if r is not None else "-", targets,
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        cells = [c.ljust(w) if j in (0, 1, len(row) - 2, len(row) - 1) else c.rjust(w)
                 for j, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {fig.key}: {note}" for fig in figures for note in fig.notes]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(WORKLOADS),
                        help=f"workloads to run (default all): {', '.join(WORKLOADS)}")
    parser.add_argument("--mux", nargs="+", metavar="NAME", choices=[m.name for m in ALL],
                        help="multiplexers to compare (default: every one installed)")
    parser.add_argument("--mb", type=float, help="flood size in MB (default 20, quick 4)")
    parser.add_argument("--emulator", metavar="NAME",
                        help="PTYMUX_EMULATOR for ptymux (vt, ghostty, pyte; default: vt)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    Ptymux.emulator = args.emulator

    muxes: list[type[Mux]] = [m for m in ALL if m.available()
                              and (not args.mux or m.name in args.mux)]
    if not any(m.name == "ptymux" for m in muxes) and not args.mux:
        print("ptymux is not installed (pip install -e .)", file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="ptymux-bench-")
    settings = Settings(root=root)
    if args.quick:
        settings.mb, settings.reps, settings.probes, settings.attaches = 4, 1, 100, 3
        settings.sessions, settings.runs, settings.idle_seconds = 10, 5, 1.5
    if args.mb:
        settings.mb = args.mb

    info = machine()
    print(f"{info['date']}: {info['nproc']} x {info['cpu']}, Linux {info['kernel']}, "
          f"Python {info['python']}, load average {info['load']}")
    print(f"comparing: {', '.join(m.name for m in muxes)} (ptymux = {info['ptymux']}, "
          f"revision {info['revision']}, model {info['model']})")
    old = signal.signal(signal.SIGTERM, _interrupted)
    figures: list[Figure] = []
    started = time.monotonic()
    try:
        for name in args.only or list(WORKLOADS):
            t0 = time.monotonic()
            print(f"[{name}] ...", flush=True)
            figures += WORKLOADS[name](settings, muxes)
            print(f"[{name}] {time.monotonic() - t0:.1f} s", flush=True)
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, old)
        kill_pids(processes_mentioning(root))
        shutil.rmtree(root, ignore_errors=True)

    names = [n for n in ORDER if any(n in f.values for f in figures)]
    print()
    print(table(figures, names))
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "mb": settings.mb,
                       "figures": [{"key": fig.key, "label": fig.label, "unit": fig.unit,
                                    "better": fig.better, "values": fig.values,
                                    "ratio": ratio(fig), "notes": fig.notes,
                                    "targets": {t.describe(): verdict(fig, t)
                                                for t in fig.targets}}
                                   for fig in figures]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
