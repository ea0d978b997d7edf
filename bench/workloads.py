"""The workloads: each one runs the same thing under every multiplexer and returns figures.

A workload function takes the settings and the multiplexer classes to compare and returns
a list of ``Figure``; a multiplexer that fails (or times out) gets ``None`` and a note,
and never stops the others. Every multiplexer instance is cleaned up, even on failure.
"""

from __future__ import annotations

import functools
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from drivers import Mux, Raw, Terminal, context_switches, cpu_seconds, rss_kb, wait_for, wait_idle

T = TypeVar("T")

SENTINEL = b"BENCH_DONE"
SENTINEL_CMD = "BENCH''_DONE"  # quoted so that an echoed command line can't match
READY = b"READY"
READY_CMD = "RE''ADY"
MARK = "@@ENDMARK@"  # the last ten cells of the attach screen


@dataclass
class Target:
    """``kind`` is one of: ``ratio>=``, ``ratio<=`` (ptymux / tmux), ``<`` and ``<=``
    (ptymux's own value)."""

    kind: str
    limit: float

    def describe(self) -> str:
        if self.kind.startswith("ratio"):
            return f"{self.kind[5:]}{self.limit:g}x tmux"
        return f"{self.kind}{self.limit:g}"


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    better: str  # "higher" or "lower"
    values: dict[str, float | None] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Settings:
    root: str
    quick: bool = False
    mb: float = 20.0
    reps: int = 3
    probes: int = 300
    attaches: int = 10
    sessions: int = 100
    history: int = 2000
    runs: int = 20  # ls / capture
    idle_seconds: float = 5.0
    clients: int = 20  # fanout
    log: Callable[[str], None] = print

    def data(self, name: str, make: Callable[[], bytes]) -> str:
        """A data file under the run's root, made once."""
        path = os.path.join(self.root, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(make())
        return path


def measure(mux_cls: type[Mux], s: Settings, what: str, fn: Callable[[Mux], T]) -> T | None:
    """Run ``fn`` on a fresh instance of the multiplexer; None (and a log line) on failure."""
    mux = mux_cls(s.root)
    try:
        return fn(mux)
    except Exception as e:
        s.log(f"  {mux.name} {what}: FAILED: {type(e).__name__}: {e}")
        return None
    finally:
        mux.cleanup()


def need(value: T | None, what: str) -> T:
    if value is None:
        raise TimeoutError(what)
    return value


# --- data ---------------------------------------------------------------------------------


def plain_lines(size: float) -> bytes:
    """The same lines as ../shared/bench/peer_bench.py, so the figures can be compared."""
    out, total, i = [], 0, 0
    while total < size:
        line = f"{i:08d} the quick brown fox jumps over the lazy dog {'x' * (i % 23)}\n"
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()


def colour_lines(size: float) -> bytes:
    out, total, i = [], 0, 0
    while total < size:
        line = (
            f"\x1b[38;5;{i % 256}m{i:08d}\x1b[0m \x1b[1;32mINFO\x1b[0m "
            f"\x1b[38;2;{i % 256};100;200mfox jumps\x1b[0m over {'y' * (i % 19)}\n"
        )
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out).encode()


def history_lines(count: int) -> bytes:
    """``count`` coloured lines of about 75 columns: what fills a session's history."""
    out = []
    for i in range(count):
        out.append(
            f"\x1b[38;5;{i % 256}m{i:06d}\x1b[0m \x1b[1;3{i % 8}mWARN\x1b[0m "
            f"\x1b[48;5;{(i * 7) % 256}mcompiling module {i % 97:02d}\x1b[0m "
            f"\x1b[4mhttps://example.org/{'p' * (i % 17)}\x1b[0m {'z' * (i % 11)}\r\n"
        )
    return "".join(out).encode()


def full_screen(cols: int = 200, rows: int = 60) -> bytes:
    """A screen with every cell drawn, in runs of 10 cells of changing colours; the last ten
    cells of the last row hold ``MARK``."""
    out = ["\x1b[H\x1b[2J"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    for y in range(rows):
        out.append(f"\x1b[{y + 1};1H")
        for x in range(0, cols, 10):
            n = y * cols + x
            if y == rows - 1 and x == cols - 10:
                out.append(f"\x1b[0;1;33;44m{MARK}")
                continue
            attrs = f"38;5;{n % 256};48;5;{(n // 7) % 256}" + (";1" if n % 3 == 0 else "")
            out.append(f"\x1b[0;{attrs}m" + "".join(letters[(n + k) % 26] for k in range(10)))
    out.append("\x1b[0m")
    return "".join(out).encode()


def flood_cmd(mux: Mux, data: str, done: bool = False) -> str:
    """Print READY, wait for the go file, cat the data, print the sentinel."""
    go = mux.path("go")
    cmd = (
        f"touch {mux.path('ready')}; echo {READY_CMD}; "
        f"while [ ! -e {go} ]; do sleep 0.01; done; cat {data}; echo; echo {SENTINEL_CMD}"
    )
    if done:
        cmd += f"; touch {mux.path('done')}"
    return cmd + "; exec sleep 600"


def _go(mux: Mux) -> float:
    with open(mux.path("go"), "w"):
        pass
    return time.monotonic()


def _detach(mux: Mux, term: Terminal) -> None:
    """Detach the way a user does (the keys), make sure the client is gone, and wait until
    the server knows (screen refuses `-r` for a while otherwise)."""
    term.drain(0.05)
    term.write(mux.detach_keys)
    term.wait(5)
    term.close()
    if mux.can_list:
        wait_for(lambda: "attached" not in mux.ls().lower(), 5, 0.02)


# --- attached throughput ------------------------------------------------------------------


def _attached_flood(mux: Mux, data: str, timeout: float) -> float:
    size = os.path.getsize(data)
    term = Terminal(mux.new_attached(flood_cmd(mux, data)), mux.env)
    try:
        need(term.expect(READY, 30), "the session did not start")
        term.drain(0.2)
        t0 = _go(mux)
        t1 = need(term.expect(SENTINEL, timeout), "the sentinel never reached the client")
        return size / 1e6 / (t1 - t0)
    finally:
        term.close()


def throughput(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """MB/s of `cat FILE` until the sentinel after it reaches the attached client's pty."""
    figures = []
    with_raw: list[type[Mux]] = [Raw, *muxes]
    for kind, make in (("plain", plain_lines), ("colour", colour_lines)):
        data = s.data(f"{kind}.txt", functools.partial(make, s.mb * 1e6))
        fig = Figure(f"attached-{kind}", f"attached flood, {kind} (80x24)", "MB/s", "higher",
                     targets=[Target("ratio>=", 1.0)])
        runs: dict[str, list[float]] = {}
        flood = functools.partial(_attached_flood, data=data, timeout=30 + s.mb * 10)
        for _ in range(s.reps):  # interleaved, so that a noisy moment hits everyone
            for cls in with_raw:
                v = measure(cls, s, f"attached {kind}", flood)
                if v is not None:
                    runs.setdefault(cls.name, []).append(v)
        for cls in with_raw:
            got = runs.get(cls.name)
            fig.values[cls.name] = statistics.median(got) if got else None
        figures.append(fig)
    return figures


# --- many clients -------------------------------------------------------------------------


def _fanout_run(mux: Mux, data: str, clients: int, tag: str, timeout: float) -> list[float]:
    """``clients`` terminals attached to one session through ``cat FILE``: each one's MB/s
    from "go" until the sentinel reached it."""
    go = mux.path(f"go-{tag}")
    cmd = (f"echo {READY_CMD}; while [ ! -e {go} ]; do sleep 0.01; done; cat {data}; echo;"
           f" echo {SENTINEL_CMD}; exec sleep 600")
    mux.new_detached(tag, cmd, 80, 24, 2000)
    size = os.path.getsize(data)
    terms: list[Terminal] = []
    try:
        for _ in range(clients):
            term = Terminal(mux.attach(tag), mux.env)
            terms.append(term)
            need(term.expect(READY, 30), "a client never showed the session")
        for term in terms:
            term.drain(0.02)
        wait_idle(mux.server_pids(), 0.2, 30)
        with open(go, "w"):
            pass
        t0 = time.monotonic()
        done = _sentinels(terms, t0 + timeout)
        return [size / 1e6 / (need(t, "the sentinel never reached a client") - t0)
                for t in done]
    finally:
        for term in terms:
            term.close()


def _sentinels(terms: list[Terminal], deadline: float) -> list[float | None]:
    """Read every terminal as fast as it has output; when the sentinel reached each one."""
    done: list[float | None] = [None] * len(terms)
    tails = [b""] * len(terms)
    by_fd = {term.fd: i for i, term in enumerate(terms)}
    while None in done and time.monotonic() < deadline:
        waiting = [terms[i].fd for i in range(len(terms)) if done[i] is None]
        for fd in select.select(waiting, [], [], 0.5)[0]:
            i = by_fd[fd]
            window = tails[i] + terms[i].pump()
            if SENTINEL in window:
                done[i] = time.monotonic()
            tails[i] = window[-len(SENTINEL):]
    for i in (i for i, t in enumerate(done) if t is not None):
        terms[i].drain(0)  # (what follows the sentinel)
    return done


def fanout(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """N clients (20) attached to one session through `cat FILE` (--mb, 20 MB): the
    slowest client's time against one client alone's on the same file. Every client's
    terminal is drained as fast as it gives output, all from this one process."""
    n = s.clients
    data = s.data("plain.txt", functools.partial(plain_lines, s.mb * 1e6))
    one = Figure("fanout-1", "one client alone, plain flood", "MB/s", "higher")
    slowest = Figure(f"fanout-{n}", f"{n} clients on one session, the slowest", "MB/s",
                     "higher", targets=[Target("ratio>=", 1.0)])
    fastest = Figure(f"fanout-{n}-fastest", f"{n} clients on one session, the fastest",
                     "MB/s", "higher")
    ratio_fig = Figure("fanout-ratio", f"{n} clients: slowest's time / one client's", "x",
                       "lower", targets=[Target("<=", 1.5)])
    runs: dict[str, list[tuple[float, float, float]]] = {}

    def run(mux: Mux) -> tuple[float, float, float]:
        timeout = 60 + s.mb * 10
        alone = _fanout_run(mux, data, 1, "one", timeout)[0]
        many = _fanout_run(mux, data, n, "many", timeout)
        return alone, min(many), max(many)

    for _ in range(s.reps):
        for cls in muxes:
            if not cls.can_redraw:
                continue
            got = measure(cls, s, "fanout", run)
            if got is not None:
                runs.setdefault(cls.name, []).append(got)
    for cls in muxes:
        if not cls.can_redraw:
            continue
        got = runs.get(cls.name)
        if not got:
            for fig in (one, slowest, fastest, ratio_fig):
                fig.values[cls.name] = None
            continue
        one.values[cls.name] = statistics.median(g[0] for g in got)
        slowest.values[cls.name] = statistics.median(g[1] for g in got)
        fastest.values[cls.name] = statistics.median(g[2] for g in got)
        ratio_fig.values[cls.name] = statistics.median(g[0] / g[1] for g in got)
    ratio_fig.notes.append(f"{s.mb:g} MB to each client (80x24), median of {s.reps}")
    return [one, slowest, fastest, ratio_fig]


# --- detached flood -----------------------------------------------------------------------



def _detached_flood(mux: Mux, data: str, timeout: float) -> float:
    size = os.path.getsize(data)
    mux.new_detached("flood", flood_cmd(mux, data, done=True), 80, 24, 2000)
    need(wait_for(lambda: os.path.exists(mux.path("ready")), 30), "the session did not start")
    time.sleep(0.2)
    t0 = _go(mux)
    t1 = need(wait_for(lambda: os.path.exists(mux.path("done")), timeout, 0.002),
              "the flood did not finish")
    if mux.can_capture:
        sentinel = SENTINEL.decode()
        t1 = need(wait_for(lambda: sentinel in mux.capture("flood"), 30, 0),
                  "capture never showed the sentinel")
    return size / 1e6 / (t1 - t0)


DETACHED_SCALE = 3  # detached floods are this many times --mb (see below)


def detached(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """MB/s of `cat FILE` in a detached session, until `capture` shows the sentinel.

    The capture that ends each measurement is a whole command run: ~2 ms for tmux, a Python
    start-up (35 - 60 ms) for ptymux. On a 20 MB flood (~0.4 s) that fixed cost alone would
    be 10 - 15 % of ptymux's figure, so detached floods are DETACHED_SCALE times larger,
    for every multiplexer alike: the figure is about sustained output."""
    figures = []
    mb = s.mb * DETACHED_SCALE
    for kind, make in (("plain", plain_lines), ("colour", colour_lines)):
        data = s.data(f"{kind}-{mb:g}mb.txt", functools.partial(make, mb * 1e6))
        fig = Figure(f"detached-{kind}", f"detached flood, {kind}", "MB/s", "higher",
                     targets=[Target("ratio>=", 1.0)])
        runs: dict[str, list[float]] = {}
        flood = functools.partial(_detached_flood, data=data, timeout=30 + mb * 10)
        for _ in range(s.reps):
            for cls in muxes:
                v = measure(cls, s, f"detached {kind}", flood)
                if v is not None:
                    runs.setdefault(cls.name, []).append(v)
        for cls in muxes:
            got = runs.get(cls.name)
            fig.values[cls.name] = statistics.median(got) if got else None
        fig.notes.append(f"{mb:g} MB, until a capture shows the sentinel: includes that"
                         " capture's run")
        if any(cls.name == "dtach" for cls in muxes):
            fig.notes.append("dtach: until the program finished writing (it has no screen)")
        figures.append(fig)
    return figures


# --- keystroke latency --------------------------------------------------------------------


def _latency(mux: Mux, probes: int) -> list[float]:
    term = Terminal(mux.new_attached(f"stty -icanon; echo {READY_CMD}; exec cat"), mux.env)
    try:
        need(term.expect(READY, 30), "the session did not start")
        term.drain(0.3)
        samples = []
        for i in range(probes):
            probe = bytes([97 + i % 26, 65 + (i // 26) % 26])  # "aA", "bA", ...: all differ
            term.clear()
            t0 = time.monotonic()
            term.write(probe)
            t1 = need(term.expect(probe, 5), f"probe {i} was not echoed")
            samples.append((t1 - t0) * 1000)
            term.drain(0.01)  # cat's copy of the probe, and a pause like between keystrokes
        return samples
    finally:
        term.close()


def latency(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """Keystroke to echo, through the client: `stty -icanon; cat`. The probes are split
    into rounds that alternate between the multiplexers, so that a busy moment of the
    machine does not land on one of them only."""
    med = Figure("latency-median", "keystroke echo, median", "ms", "lower",
                 targets=[Target("ratio<=", 1.5)])
    p90 = Figure("latency-p90", "keystroke echo, p90", "ms", "lower")
    p99 = Figure("latency-p99", "keystroke echo, p99", "ms", "lower", targets=[Target("<", 5.0)])
    rounds = 3 if s.probes >= 150 else 1
    samples: dict[str, list[float]] = {}
    with_raw: list[type[Mux]] = [Raw, *muxes]
    for _ in range(rounds):
        for cls in with_raw:
            got = measure(cls, s, "latency", lambda m: _latency(m, s.probes // rounds))
            if got is not None:
                samples.setdefault(cls.name, []).extend(got)
    for cls in with_raw:
        got = samples.get(cls.name, [])
        if len(got) >= 2:
            cuts = statistics.quantiles(got, n=100, method="inclusive")
            med.values[cls.name] = statistics.median(got)
            p90.values[cls.name] = cuts[89]
            p99.values[cls.name] = cuts[98]
        else:
            for fig in (med, p90, p99):
                fig.values[cls.name] = None
    return [med, p90, p99]


# --- attach -------------------------------------------------------------------------------


def _attach(mux: Mux, screen: str, reps: int) -> tuple[list[float], list[float]]:
    # Draw once the window has its full size: a detached screen session only gets it
    # from its first client. The first attach (not timed) makes sure of that everywhere.
    cmd = (f'while [ "$(stty size)" != "60 200" ]; do sleep 0.05; done; '
           f"cat {screen}; exec sleep 600")
    mux.new_detached("big", cmd, 200, 60, 2000)
    mark = MARK.encode()
    warm = Terminal(mux.attach("big"), mux.env, 200, 60)
    try:
        need(warm.expect(mark, 20), "the screen was never drawn")
        _detach(mux, warm)
    finally:
        warm.close()
    samples, first = [], []
    for _ in range(reps):
        time.sleep(0.2)
        t0 = time.monotonic()
        term = Terminal(mux.attach("big"), mux.env, 200, 60)
        try:
            t1 = need(term.expect(mark, 10), "the redraw did not reach the last cell")
            samples.append((t1 - t0) * 1000)
            first.append((need(term.first_at, "no output") - t0) * 1000)
            _detach(mux, term)
        finally:
            term.close()
    return samples, first


def attach(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """From running `attach` to the last cell of a 200x60 coloured screen on the client."""
    screen = s.data("screen-200x60.txt", full_screen)
    fig = Figure("attach", "attach, 200x60 coloured redraw (median)", "ms", "lower",
                 targets=[Target("<", 50.0)])
    first = Figure("attach-first", "attach, first byte on the client (median)", "ms", "lower")
    for cls in muxes:
        if not cls.can_redraw:
            continue
        got = measure(cls, s, "attach", lambda m: _attach(m, screen, s.attaches))
        fig.values[cls.name] = statistics.median(got[0]) if got else None
        first.values[cls.name] = statistics.median(got[1]) if got else None
    return [fig, first]


# --- memory -------------------------------------------------------------------------------


def _server_rss(mux: Mux) -> float:
    pids = mux.server_pids()
    wait_idle(pids, 0.5, 120)
    return sum(rss_kb(p) for p in pids) / 1024


def _memory(mux: Mux, s: Settings, hist: str) -> tuple[float, float]:
    def start(i: int) -> None:
        done = mux.path(f"filled.{i}")
        mux.new_detached(f"m{i}", f"cat {hist}; touch {done}; exec sleep 600", 80, 24,
                         s.history)

    def filled(count: int) -> bool:
        return all(os.path.exists(mux.path(f"filled.{i}")) for i in range(count))

    start(0)
    need(wait_for(lambda: filled(1), 60, 0.01), "the first session never filled")
    one = _server_rss(mux)
    for i in range(1, s.sessions):
        start(i)
    need(wait_for(lambda: filled(s.sessions), 300, 0.05), "the sessions never filled")
    return one, _server_rss(mux)


def memory(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """Server RSS with 1 and N sessions, each holding a full history of coloured lines."""
    hist = s.data("history.txt", lambda: history_lines(s.history + 100))
    n = s.sessions
    one = Figure("rss-1", "server RSS, 1 session", "MB", "lower")
    many = Figure(f"rss-{n}", f"server RSS, {n} sessions", "MB", "lower",
                  targets=[Target("<=", 100.0)] if n == 100 else [])
    per = Figure("rss-per-session", f"RSS per session ({s.history}-line history)", "MB",
                 "lower", targets=[Target("ratio<=", 2.0)])
    figures = [one, many, per]
    est = None
    if n != 100:
        est = Figure("rss-100-est", "server RSS, 100 sessions (estimated)", "MB", "lower",
                     targets=[Target("<=", 100.0)])
        figures.append(est)
    for cls in muxes:
        if not cls.keeps_history:
            continue
        got = measure(cls, s, "memory", lambda m: _memory(m, s, hist))
        if got is None:
            for fig in figures:
                fig.values[cls.name] = None
            continue
        one.values[cls.name], many.values[cls.name] = got
        each = (got[1] - got[0]) / max(n - 1, 1)
        per.values[cls.name] = each
        if est is not None:
            est.values[cls.name] = got[0] + 99 * each
    if any(cls.name == "screen" for cls in muxes):
        per.notes.append("screen: one process per session, so RSS is their sum "
                         "(shared pages counted once per process)")
    return figures


# --- ls and capture -----------------------------------------------------------------------


def _commands(mux: Mux, s: Settings, hist: str) -> dict[str, float]:
    done = mux.path("filled")
    mux.new_detached("cmds", f"cat {hist}; touch {done}; exec sleep 600", 80, 24, s.history)
    need(wait_for(lambda: os.path.exists(done), 60, 0.01), "the session never filled")
    wait_idle(mux.server_pids(), 0.3, 60)
    calls: dict[str, Callable[[], object]] = {
        "ls": mux.ls, "capture": lambda: mux.capture("cmds"),
        "has": lambda: mux.has("cmds"), "send": lambda: mux.send("cmds", "x"),
    }
    timings: dict[str, list[float]] = {name: [] for name in (*calls, "cold-new")}
    for name, call in calls.items():
        call()  # warm the page cache
        for _ in range(s.runs):
            t0 = time.monotonic()
            call()
            timings[name].append((time.monotonic() - t0) * 1000)
    # The first command of a server's life: `new -d` that has to start the server; for
    # ptymux also the other way it can start one, a fresh interpreter (how the Python API
    # starts it), to show what forking the client saves in the same run.
    starts: dict[str, dict[str, str]] = {"cold-new": {}}
    if mux.name == "ptymux":
        starts["cold-new-exec"] = {"PTYMUX_SERVER_EXEC": "1"}
    for key, extra in starts.items():
        saved = dict(mux.env)
        mux.env.update(extra)
        try:
            timings[key] = _cold_starts(mux, max(3, s.runs // 3))
        finally:
            mux.env.clear()
            mux.env.update(saved)
    return {name: statistics.median(values) for name, values in timings.items()}


def _cold_starts(mux: Mux, runs: int) -> list[float]:
    """Wall times (ms) of `new -d` with no server running."""
    times = []
    for i in range(runs):
        mux.kill_server()
        wait_for(lambda: not mux.server_pids(), 10, 0.01)
        t0 = time.monotonic()
        mux.new_detached(f"cold{i}", "exec sleep 600", 80, 24, 100)
        times.append((time.monotonic() - t0) * 1000)
    return times


def commands(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """Wall time of script-style commands (a whole process run each), median of N: `ls`,
    `capture`, `has-session`, `send-keys`, and the first `new -d` that starts the server;
    with `python -c pass` beside them, the floor of any command of a Python program. The
    targets: warm commands within 2x `python -c pass`, the cold `new -d` within 3x."""
    hist = s.data("history.txt", lambda: history_lines(s.history + 100))
    floor_ms = _python_start(s.runs)
    figures = {
        "ls": Figure("ls", f"ls wall time (median of {s.runs})", "ms", "lower",
                     targets=[Target("<", 60.0), Target("<", 2 * floor_ms)]),
        "capture": Figure("capture", f"capture wall time (median of {s.runs})", "ms", "lower",
                          targets=[Target("<", 60.0)]),
        "has": Figure("has-session", f"has-session wall time (median of {s.runs})", "ms",
                      "lower", targets=[Target("<", 2 * floor_ms)]),
        "send": Figure("send-keys", f"send-keys wall time (median of {s.runs})", "ms",
                       "lower", targets=[Target("<", 2 * floor_ms)]),
        "cold-new": Figure("cold-new", "new -d starting the server (median)", "ms", "lower",
                           targets=[Target("<", 3 * floor_ms)]),
        "cold-new-exec": Figure(
            "cold-new-exec", "the same, server as a fresh interpreter (PTYMUX_SERVER_EXEC=1)",
            "ms", "lower"),
    }
    for cls in muxes:
        if not (cls.can_list and cls.can_capture) or cls.has is Mux.has:
            continue  # (screen and dtach have no has-session/send-keys drivers here)
        got = measure(cls, s, "commands", lambda m: _commands(m, s, hist))
        for key, figure in figures.items():
            if key in (got or {}) or key != "cold-new-exec":
                figure.values[cls.name] = got[key] if got else None
    if any(cls.name == "screen" for cls in muxes):
        figures["capture"].notes.append("screen: `-X hardcopy` until the file is written")
    if any(cls.name == "ptymux" for cls in muxes) and not _bytecode_cached():
        figures["cold-new"].notes.append(
            "ptymux's modules have no cached bytecode here (PYTHONDONTWRITEBYTECODE, no"
            " __pycache__): each process compiles the ones it imports, the server's too")
    # The floor under every command of a Python program: this interpreter doing nothing.
    floor = Figure("python-start", f"for reference: `python -c pass` (median of {s.runs})",
                   "ms", "lower")
    if any(cls.name == "ptymux" for cls in muxes):
        floor.values["ptymux"] = floor_ms
    return [*figures.values(), floor]


def _bytecode_cached() -> bool:
    """Whether ptymux's modules are imported from cached bytecode (as after `pip install`),
    not compiled from source by every command: ~40 ms of a cold `new -d` on this VM."""
    import importlib.util

    spec = importlib.util.find_spec("ptymux.term.vt")
    if spec is None or not spec.origin:
        return True
    return os.path.exists(importlib.util.cache_from_source(spec.origin))


def _python_start(runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=False)
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


# --- idle ---------------------------------------------------------------------------------


def _sample(pids: list[int], seconds: float, term: Terminal | None) -> tuple[float, float]:
    """CPU ms per second and wake-ups per second of ``pids`` over ``seconds``."""
    cpu0 = sum(cpu_seconds(p) for p in pids)
    cs0 = sum(context_switches(p) for p in pids)
    t0 = time.monotonic()
    if term is not None:
        term.drain(seconds)
    else:
        time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    cs = sum(context_switches(p) for p in pids) - cs0
    return cpu * 1000 / elapsed, cs / elapsed


def _idle(mux: Mux, s: Settings) -> tuple[float, float, float, float]:
    ready = mux.path("ready")
    mux.new_detached("idle", f"touch {ready}; exec sleep 3600", 80, 24, s.history)
    need(wait_for(lambda: os.path.exists(ready), 30), "the session did not start")
    pids = mux.server_pids()
    wait_idle(pids, 0.5, 30)
    cpu_d, wake_d = _sample(pids, s.idle_seconds, None)
    term = Terminal(mux.attach("idle"), mux.env)
    try:
        term.drain(1.0)
        cpu_a, wake_a = _sample(pids, s.idle_seconds, term)
    finally:
        term.close()
    return cpu_d, wake_d, cpu_a, wake_a


def idle(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """What an idle server costs, with its session detached and with a client attached."""
    figs = [
        Figure("idle-cpu-detached", "idle server CPU, detached", "ms/s", "lower",
               targets=[Target("<", 0.5)]),
        Figure("idle-wakeups-detached", "idle server wake-ups, detached", "1/s", "lower",
               targets=[Target("<", 1.0)]),
        Figure("idle-cpu-attached", "idle server CPU, client attached", "ms/s", "lower",
               targets=[Target("<", 0.5)]),
        Figure("idle-wakeups-attached", "idle server wake-ups, attached", "1/s", "lower",
               targets=[Target("<", 1.0)]),
    ]
    for cls in muxes:
        got = measure(cls, s, "idle", lambda m: _idle(m, s))
        for fig, v in zip(figs, got or (None,) * 4, strict=True):
            fig.values[cls.name] = v
    figs[0].notes.append(f"sampled over {s.idle_seconds:g} s from /proc (10 ms tick)")
    return figs


WORKLOADS: dict[str, Callable[[Settings, list[type[Mux]]], list[Figure]]] = {
    "throughput": throughput,
    "detached": detached,
    "fanout": fanout,
    "latency": latency,
    "attach": attach,
    "memory": memory,
    "commands": commands,
    "idle": idle,
}
