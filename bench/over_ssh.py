"""The ``ssh`` workload: ptymux -H against ``ssh -t host tmux attach``, over loopback SSH.

One throwaway sshd on 127.0.0.1 (tests/helpers/sshd.py, the same one the -H tests use)
serves both, in the same run: ptymux reaches its server with ``ptymux -H box new`` (ssh
runs ``ptymux proxy`` there; keys and output as frames through the proxy), tmux the way
people use it remotely, ``ssh -t box tmux new-session`` (a pty on the far side, tmux's own
client there). ``raw`` is ``ssh -t box sh -c CMD``: the cost of SSH itself. The figures are
the local workloads' (keystroke echo, attached flood), driven through the same real ptys.
"""

from __future__ import annotations

import functools
import os
import shlex
import statistics
import sys

from drivers import Mux, Ptymux, Tmux
from workloads import Figure, Settings, _attached_flood, _latency, measure, plain_lines

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "helpers"))
from sshd import Sshd, unavailable  # noqa: E402

HOST = "box"  # any name: the client config sends every host to the bench's sshd


class _Over:
    """What the ssh variants share: the sshd and the ``ssh -F`` file of this run."""

    sshd: Sshd | None = None
    ssh_config = ""

    @classmethod
    def ssh(cls) -> list[str]:
        return ["ssh", "-F", cls.ssh_config]


class PtymuxSsh(Ptymux):
    """``ptymux -H box``; the far side's ptymux runs in this instance's directory (a
    wrapper script exports its environment: what a user with a custom install writes)."""

    name = "ptymux"

    def __init__(self, root: str) -> None:
        super().__init__(root)
        wrapper = self.path("remote-ptymux")
        exports = " ".join(f"{k}={shlex.quote(self.env[k])}" for k in (
            "PTYMUX_SOCKET_DIR", "XDG_STATE_HOME", "PTYMUX_CONFIG", "LANG"))
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexport {exports}\nexec {shlex.quote(self.binary)} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        with open(self.env["PTYMUX_CONFIG"], "w") as f:
            f.write(f'remote-command = "{wrapper}"\n')
        self.env["PTYMUX_SSH"] = shlex.join(_Over.ssh())

    def new_attached(self, cmd: str) -> list[str]:
        return [self.binary, "-H", HOST, "new", "--", "sh", "-c", cmd]


class TmuxSsh(Tmux):
    """``ssh -t box tmux ...``: tmux's client runs on the far side, in sshd's pty."""

    name = "tmux"

    def new_attached(self, cmd: str) -> list[str]:
        return [*_Over.ssh(), "-t", HOST, shlex.join(super().new_attached(cmd))]


class RawSsh(Mux):
    """``ssh -t box sh -c CMD``: no multiplexer, SSH alone."""

    name = "raw"

    def new_attached(self, cmd: str) -> list[str]:
        return [*_Over.ssh(), "-t", HOST, shlex.join(["sh", "-c", cmd])]


def over_ssh(s: Settings, muxes: list[type[Mux]]) -> list[Figure]:
    """Keystroke echo and attached flood through loopback SSH, ptymux -H against
    ``ssh -t tmux`` (and ssh alone)."""
    med = Figure("ssh-latency-median", "over ssh: keystroke echo, median", "ms", "lower")
    p99 = Figure("ssh-latency-p99", "over ssh: keystroke echo, p99", "ms", "lower")
    flood = Figure("ssh-attached-plain", "over ssh: attached flood, plain (80x24)", "MB/s",
                   "higher")
    figures = [med, p99, flood]
    why = unavailable()
    if why:
        figures[0].notes.append(f"not run: {why}")
        return figures
    names = {m.name for m in muxes}
    chosen: list[type[Mux]] = [RawSsh, *(c for c in (PtymuxSsh, TmuxSsh) if c.name in names)]
    root = os.path.join(s.root, "sshd")
    os.makedirs(root, exist_ok=True)
    _Over.sshd = Sshd(root)
    _Over.ssh_config = _Over.sshd.client_config("client")
    try:
        rounds = 3 if s.probes >= 150 else 1
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):  # alternating, as the local latency workload does
            for cls in chosen:
                got = measure(cls, s, "ssh latency", lambda m: _latency(m, s.probes // rounds))
                if got is not None:
                    samples.setdefault(cls.name, []).extend(got)
        for cls in chosen:
            got = samples.get(cls.name, [])
            ok = len(got) >= 2
            med.values[cls.name] = statistics.median(got) if ok else None
            p99.values[cls.name] = (statistics.quantiles(got, n=100, method="inclusive")[98]
                                    if ok else None)
        data = s.data("plain.txt", functools.partial(plain_lines, s.mb * 1e6))
        run = functools.partial(_attached_flood, data=data, timeout=60 + s.mb * 10)
        runs: dict[str, list[float]] = {}
        for _ in range(s.reps):
            for cls in chosen:
                v = measure(cls, s, "ssh flood", run)
                if v is not None:
                    runs.setdefault(cls.name, []).append(v)
        for cls in chosen:
            got_mb = runs.get(cls.name)
            flood.values[cls.name] = statistics.median(got_mb) if got_mb else None
    finally:
        _Over.sshd.close()
        _Over.sshd = None
    med.notes.append("loopback sshd; ptymux: ptymux -H (frames through ptymux proxy);"
                     " tmux: ssh -t HOST tmux new-session; raw: ssh -t HOST sh -c CMD")
    return figures
