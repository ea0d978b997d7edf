"""The Python API (ptymux.api) against a real server: the same calls the CLI makes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from harness import Mux, wait_until
from ptymux.api import PtymuxError, Server


@pytest.fixture
def server(mux: Mux) -> Iterator[Server]:
    """The API pointed at ``mux``'s isolated world (its environment, for the server it
    starts: socket and state directories)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(mux.env)
    try:
        yield Server()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_session_from_start_to_status(server: Server) -> None:
    assert server.sessions() == [] and not server.running()
    job = server.new([sys.executable, "-c", "import os, sys; print('go', sys.stdin.readline(),"
                      " os.environ['X']); sys.stdin.readline(); sys.exit(3)"],
                     name="job", cols=100, rows=30, env={"X": "x1"})
    assert (job.id, job.name, job.info.cols, job.info.rows) == (0, "job", 100, 30)
    assert server.running() and [s.name for s in server.sessions()] == ["job"]
    assert server.session("jo").id == 0 and server.has_session("$0")
    job.send_keys("hello", "Enter")
    wait_until(lambda: "go hello\n x1" in job.capture(), what="the program's answer")
    job.send_keys("bye", "Enter")
    assert job.wait() == 3
    assert not server.has_session("job")


def test_errors_carry_the_cli_message_and_status(server: Server) -> None:
    with pytest.raises(PtymuxError) as no_server:
        server.capture("x")
    assert no_server.value.code == 1 and "no server running" in str(no_server.value)
    keep = server.new(["sleep", "60"], name="keep")
    with pytest.raises(PtymuxError, match="can't find session: nope"):
        server.session("nope")
    with pytest.raises(PtymuxError, match="duplicate session: keep") as duplicate:
        server.new(["true"], name="keep")
    assert duplicate.value.code == 1
    with pytest.raises(PtymuxError) as usage:
        keep.send_keys("C-Enter")
    assert usage.value.code == 2
    keep.rename("kept")
    assert keep.name == "kept" and server.session("kept").id == keep.id
    keep.kill()
    assert server.sessions() == [] or all(s.name != "kept" for s in server.sessions())


def test_wait_after_the_server_is_gone_and_kill(server: Server) -> None:
    quick = server.new(["sh", "-c", "exit 9"], name="quick")
    wait_until(lambda: not server.running(), what="the server to exit with its session")
    assert [e.name for e in server.listing(ended=True).ended] == ["quick"]
    assert quick.wait() == 9
    server.new(["sleep", "60"])
    server.kill()
    assert not server.running()
