"""End-to-end: several clients on one session: the size policy, read-only clients,
attach -d, list-clients and detach-client, with real clients in real ptys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import isolated_mux

from harness import Mux, Terminal, wait_until


@pytest.fixture(params=["passed", "frames"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    for world in isolated_mux():
        if request.param == "frames":
            world.env["PTYMUX_PASS_TERMINAL"] = "0"
        yield world


def _session(mux: Mux, name: str) -> dict[str, object]:
    out = mux.run("ls", "--json", check=True).stdout
    return next(s for s in json.loads(out) if s["name"] == name)


def _size(mux: Mux, name: str) -> tuple[object, object]:
    s = _session(mux, name)
    return s["cols"], s["rows"]


def _clients(mux: Mux) -> list[dict[str, object]]:
    return json.loads(mux.run("list-clients", "--json", check=True).stdout)


def _attach(mux: Mux, name: str, cols: int, rows: int, *opts: str) -> Terminal:
    before = len(_clients(mux))
    term = mux.spawn("attach", "-t", name, *opts, cols=cols, rows=rows)
    wait_until(lambda: len(_clients(mux)) == before + 1, what="the client attached")
    return term


def _wait_size(mux: Mux, name: str, size: tuple[int, int]) -> None:
    wait_until(lambda: _size(mux, name) == size, what=f"size {size}, not {_size(mux, name)}")


def _detach(mux: Mux, term: Terminal) -> None:
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0


@pytest.mark.parametrize(("policy", "sizes"), [
    # after attaching 100x30, 80x24, 120x40; then after the last one detaches
    ("latest", [(100, 30), (80, 24), (120, 40), (80, 24)]),
    ("smallest", [(100, 30), (80, 24), (80, 24), (80, 24)]),
    ("largest", [(100, 30), (100, 30), (120, 40), (100, 30)]),
])
def test_size_policies_with_three_clients_and_a_detach(mux: Mux, policy: str,
                                                       sizes: list[tuple[int, int]]) -> None:
    mux.run("new", "-d", "-s", "s", "--size-policy", policy, "--", "sleep", "600", check=True)
    assert _session(mux, "s")["size_policy"] == policy
    _attach(mux, "s", 100, 30)
    _wait_size(mux, "s", sizes[0])
    _attach(mux, "s", 80, 24)
    _wait_size(mux, "s", sizes[1])
    third = _attach(mux, "s", 120, 40)
    _wait_size(mux, "s", sizes[2])
    _detach(mux, third)
    _wait_size(mux, "s", sizes[3])


def test_resize_and_changing_the_policy(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "s", "--", "sleep", "600", check=True)
    big = _attach(mux, "s", 120, 40)
    small = _attach(mux, "s", 80, 24)
    _wait_size(mux, "s", (80, 24))
    big.resize(110, 35)  # latest: the one that resized last
    _wait_size(mux, "s", (110, 35))
    mux.run("set-size-policy", "-t", "s", "smallest", check=True)
    _wait_size(mux, "s", (80, 24))
    small.resize(90, 20)
    _wait_size(mux, "s", (90, 20))
    mux.run("set-size-policy", "-t", "s", "largest", check=True)
    _wait_size(mux, "s", (110, 35))
    bad = mux.run("set-size-policy", "-t", "s", "biggest")
    assert bad.returncode == 2 and "use latest, smallest, largest" in bad.stderr


def test_a_larger_client_sees_the_session_area_and_the_rest_cleared(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "s", "--size-policy", "smallest", "--", "sh", check=True)
    big = _attach(mux, "s", 100, 30)
    big.wait_for("$")
    big.send("i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo wide-line-$i-xxxxxxxxxxxxxxxx; done\r")
    big.wait_for("wide-line-40")
    _attach(mux, "s", 60, 10)
    _wait_size(mux, "s", (60, 10))
    wait_until(lambda: all(not line[60:].strip() for line in big.lines())
               and all(not line.strip() for line in big.lines()[10:]),
               what="nothing outside the session's 60x10 on the big terminal")


def test_a_larger_client_stays_in_step_while_the_program_scrolls(mux: Mux) -> None:
    """Live output written raw would scroll the larger terminal at its own bottom row, not
    the session's: the larger client gets the session drawn from the model instead."""
    mux.run("new", "-d", "-s", "s", "--", "sh", check=True)
    big = _attach(mux, "s", 100, 30)
    small = _attach(mux, "s", 80, 24)  # 'latest': the session is 80x24 now
    _wait_size(mux, "s", (80, 24))
    small.send("i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo scrolled-$i; done;"
               " echo end-$((2+3))\r")

    def in_step() -> bool:
        want = mux.run("capture", "-t", "s", check=True).stdout.splitlines()
        shown = big.lines()
        return ("end-5" in want and shown[: len(want)] == [line.rstrip() for line in want]
                and not any(line.strip() for line in shown[24:]))
    wait_until(in_step, what=f"the large client to show the session, and nothing below it:"
               f"\n{big.text()}")
    assert small.text().count("scrolled-60") == 1


def test_read_only_typing_never_arrives_and_its_size_never_counts(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "s", "--", "sh", check=True)
    writer = _attach(mux, "s", 80, 24)
    writer.wait_for("$")
    viewer = _attach(mux, "s", 120, 40, "-r")
    assert [c["read_only"] for c in _clients(mux)] == [False, True]
    _wait_size(mux, "s", (80, 24))
    viewer.resize(100, 30)
    viewer.send("echo from-viewer\r")
    writer.send("echo from-writer\r")
    viewer.wait_for("from-writer")  # it sees what happens
    assert "from-viewer" not in mux.run("capture", "-t", "s", check=True).stdout
    assert _size(mux, "s") == (80, 24)
    _detach(mux, viewer)  # its bindings still work


def test_attach_d_detaches_the_others(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "s", "--", "sleep", "600", check=True)
    first = _attach(mux, "s", 80, 24)
    second = _attach(mux, "s", 80, 24)
    mux.run("new", "-d", "-s", "other", "--", "sleep", "600", check=True)
    elsewhere = _attach(mux, "other", 80, 24)
    taker = mux.spawn("attach", "-t", "s", "-d")
    for term in (first, second):
        assert term.wait_exit() == 0
        assert "[detached (from session s)]" in term.text()
    wait_until(lambda: [c["session_name"] for c in _clients(mux)] == ["other", "s"],
               what="only the taker on s, and the other session's client")
    _detach(mux, taker)
    _detach(mux, elsewhere)


def test_list_clients_and_detach_client(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "s", "--", "sleep", "600", check=True)
    one = _attach(mux, "s", 80, 24)
    two = _attach(mux, "s", 100, 30, "-r")
    clients = _clients(mux)
    assert [(c["cols"], c["rows"], c["read_only"]) for c in clients] == [
        (80, 24, False), (100, 30, True)]
    assert all(str(c["tty"]).startswith("/dev/pts/") for c in clients)
    lines = mux.run("list-clients", check=True).stdout.splitlines()
    assert lines[1].startswith(f"{clients[1]['id']}: {clients[1]['tty']} (100x30) session s"
                               " (read-only) (attached ")
    mux.run("detach-client", "-c", str(clients[0]["id"]), check=True)
    assert one.wait_exit() == 0
    assert "[detached (from session s)]" in one.text()
    assert [c["id"] for c in _clients(mux)] == [clients[1]["id"]]
    mux.run("detach-client", "-t", "s", check=True)
    assert two.wait_exit() == 0
    assert _clients(mux) == []
    missing = mux.run("detach-client", "-c", "999")
    assert missing.returncode == 1 and "no attached client 999" in missing.stderr
    both = mux.run("detach-client")
    assert both.returncode == 2 and "-t SESSION" in both.stderr
