"""Faithful redraw, end to end: a late attacher sees exactly what an attached one sees.

tmux plays the user's terminal here (an emulator independent of ours), so the screen, the
attributes, the cursor and the modes a client ends up with can be read back and compared.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest
from conftest import MODELS, isolated_mux

from harness import HELPERS, Mux, settled_view, wait_until
from ptymux.term.vt_model import VtModel


@pytest.fixture
def mux(model_mux: Mux) -> Mux:
    """Every test here runs on both models (conftest.MODELS)."""
    return model_mux


@pytest.fixture(params=[*MODELS, "pyte"])
def any_mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    """The real-program redraws run on the pyte model too: it is offered
    (``PTYMUX_EMULATOR=pyte``), so a re-attached vim or less must work on it as well."""
    if request.param == "ghostty":
        from ptymux.term.ghostty_model import available

        if not available():
            pytest.skip("pyghostty is not installed")
    yield from isolated_mux(request.param)

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="tmux plays the terminal")


# Byte streams that exercise what a redraw must carry. Each ends with a marker line.
SCRIPTS = {
    "colours": r"printf '\033[1mbold\033[22m \033[2mdim\033[22m \033[3mital\033[23m "
    r"\033[4munder\033[24m \033[5mblink\033[25m \033[7mrev\033[27m \033[8mhid\033[28m "
    r"\033[9mstrike\033[29m\n\033[31mred \033[91mbright \033[38;5;208m208 "
    r"\033[38;2;10;200;30mtrue \033[48;5;22mbg22 \033[48;2;1;2;3mbgtrue\033[0m\nMARK'",
    "wide": r"printf '\344\275\240\345\245\275 wide \360\237\230\200 e\314\201 "
    r"\033(0lqqk\033(B\nMARK'",
    "modes": r"printf '\033[?1h\033=\033[?1002h\033[?1006h\033[?1004h\033[?2004h"
    r"\033[4h\033[?25l\033[5 q\033]2;the title\007\033[3;20r\033[?6h\033[2;4HMARK'",
    "autowrap": r"printf '\033[?7lMARK\033[?7h'",
    "alternate": r"printf 'main screen text\n\033[?1049h\033[2J\033[Halt screen\n"
    r"\033[32mgreen\033[0m MARK'",
}


# What pyte itself cannot hold (docs/terminal-state.md, the pyte model): strict, so that a
# pyte that learns it makes these pass and the list must shrink.
PYTE_LACKS = {
    "colours": "pyte's cells have no dim (SGR 2) or concealed (SGR 8) attribute",
    "wide": "pyte takes no charset in UTF-8 (no DEC line drawing) and composes e + U+0301",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_late_attach_matches_a_terminal_that_saw_everything(
    any_mux: Mux, name: str, request: pytest.FixtureRequest
) -> None:
    mux = any_mux
    if mux.env.get("PTYMUX_EMULATOR") == "pyte" and name in PYTE_LACKS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=PYTE_LACKS[name]))
    script = SCRIPTS[name] + "; sleep 60"
    reference = mux.tmux_direct("sh", "-c", script)
    expected = settled_view(reference, "MARK")
    mux.run("new", "-d", "-s", name, "--", "sh", "-c", script, check=True)
    wait_until(lambda: "MARK" in mux.run("capture", "-t", name).stdout, what="MARK")
    late = mux.tmux("attach", "-t", name)
    assert settled_view(late, "MARK") == expected
    # The program's own title, else ptymux's (config set-title).
    assert late.title() == (reference.title() if name == "modes" else f"ptymux: {name}")


def test_vim_survives_detach_and_reattach(any_mux: Mux) -> None:
    mux = any_mux
    if not shutil.which("vim"):
        pytest.skip("vim is not installed")
    path = os.path.join(mux.root, "file.txt")
    with open(path, "w") as f:
        f.write("".join(f"line {i}\n" for i in range(1, 60)))
    first = mux.tmux("new", "-s", "ed", "--", "sh")
    first.wait_for("$")
    first.literal("echo before-vim\r")
    shell_view = settled_view(first, "before-vim\n$")
    vim = f"vim -u NONE -i NONE -N -n -c 'set mouse=a' {path}"
    first.literal(vim + "\r")
    first.wait_for("line 1")
    first.literal("jjjl")
    wait_until(lambda: first.state().split()[1:3] == ["1", "3"], what="vim's cursor to move")
    in_vim = settled_view(first, "line 20")
    first.detach()
    # The user's terminal is left clean: main screen, cursor visible, every mode off.
    state = first.state().split()
    clean = ["0", None, None, "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0", "0",
             "23"]
    assert [v if c is not None else None for v, c in zip(state, clean, strict=True)] == clean
    assert "[detached (from session ed)]" in first.text()

    second = mux.tmux("attach", "-t", "ed")
    wait_until(lambda: second.view() == in_vim, what="vim's screen and modes after re-attach")
    y = int(second.state().split()[2])
    second.keys("Down")
    wait_until(lambda: int(second.state().split()[2]) == y + 1, what="Down to move the cursor")
    second.keys("Up")
    wait_until(lambda: int(second.state().split()[2]) == y, what="Up to move the cursor")
    second.literal(":q\r")
    # As in xterm: the main screen as it was before vim, plus the prompt that follows it.
    expected = ["$ echo before-vim", "before-vim", f"$ {vim}", "$"]
    wait_until(lambda: second.text().rstrip("\n").split("\n") == expected,
               what="the shell's screen after vim")
    assert second.state().split()[:3] == ["0", "2", "3"]
    assert shell_view[0].rstrip("\n").split("\n") == expected[:2] + ["$"]


def test_less_survives_detach_and_reattach(any_mux: Mux) -> None:
    mux = any_mux
    if not shutil.which("less"):
        pytest.skip("less is not installed")
    path = os.path.join(mux.root, "file.txt")
    with open(path, "w") as f:
        f.write("".join(f"\033[3{i % 8}mrow {i}\033[0m\n" for i in range(1, 200)))
    first = mux.tmux("new", "-s", "pager", "--", "less", "-R", path)
    before = settled_view(first, "row 20")
    first.detach()
    second = mux.tmux("attach", "-t", "pager")
    wait_until(lambda: second.view() == before, what="less's screen after re-attach")
    second.keys("Space")
    second.wait_for("row 30")


def test_bracketed_paste_works_after_reattach(mux: Mux) -> None:
    keys = os.path.join(HELPERS, "show_keys.py")
    mux.run("new", "-d", "-s", "paste", "--", "sh", "-c",
            f"printf '\\033[?2004h'; exec {sys.executable} {keys}", check=True)
    term = mux.tmux("attach", "-t", "paste")
    term.wait_for("ready")
    term.paste("hi")
    term.wait_for("got:")
    assert "1b5b3230307e" + "6869" + "1b5b3230317e" in term.text().replace("\ngot:", "")


def _answers(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("answers:"):
            return line[len("answers:"):]
    return ""


# DA1, DA2, cursor position (row 3, col 5), DECRQM ?25 (set), XTVERSION: one of each.
def _check_one_answer_each(answers: str) -> None:
    raw = bytes.fromhex(answers)
    assert raw.count(b"\x1b[?") >= 2, raw  # DA1 and DECRQM
    assert raw.count(b"c") == 2, raw  # DA1 + DA2 (each ends in 'c'), once each
    assert raw.count(b"\x1b[3;5R") == 1, raw
    assert raw.count(b"\x1b[?25;1$y") == 1, raw
    assert raw.count(b"\x1bP>|") == 1, raw


def test_queries_answered_once_with_no_client(mux: Mux) -> None:
    helper = os.path.join(HELPERS, "queries.py")
    mux.run("new", "-d", "-s", "q", "--", sys.executable, helper, check=True)
    wait_until(lambda: "end" in mux.run("capture", "-t", "q").stdout, what="the answers")
    _check_one_answer_each(_answers(mux.run("capture", "-t", "q").stdout))


@pytest.mark.parametrize("clients", [1, 3])
def test_queries_answered_once_with_clients(mux: Mux, clients: int) -> None:
    helper = os.path.join(HELPERS, "queries.py")
    mux.run("new", "-d", "-s", "q", "--", sys.executable, helper, "1.5", check=True)
    terms = [mux.tmux("attach", "-t", "q") for _ in range(clients)]
    for term in terms:
        term.wait_for("end")
    _check_one_answer_each(_answers(mux.run("capture", "-t", "q").stdout))


CLEAN_STATE = ["0", None, None, "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0",
               "0", "23"]


def _is_clean(state: str) -> bool:
    values = state.split()
    return [v if c is not None else None for v, c in zip(values, CLEAN_STATE, strict=True)
            ] == CLEAN_STATE


def test_terminal_is_clean_after_the_program_dies_in_the_alternate_screen(mux: Mux) -> None:
    script = (r"printf 'kept\n\033[?1049h\033[?1h\033=\033[?1000h\033[?25l\033[5;10r\033[?6h"
              r"in alt'; sleep 0.5; kill -9 $$")
    term = mux.tmux("new", "--", "sh", "-c", script)
    wait_until(term.dead, what="the client to exit")
    assert term.exit_code() == 128 + 9
    assert _is_clean(term.state())
    assert term.text().startswith("kept\n")
    assert "[exited (session 0, signal SIGKILL)]" in term.text()


def test_random_bytes_do_not_kill_the_session(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "noise", "--", "sh", "-c",
            # after the noise: cancel any open sequence or string, then reset the terminal
            r"head -c 300000 /dev/urandom; printf '\030\033\\\033c'; echo SURVIVED; sleep 60",
            check=True)
    wait_until(lambda: "SURVIVED" in mux.run("capture", "-t", "noise").stdout, timeout=30,
               what="the session to get through the noise")
    term = mux.tmux("attach", "-t", "noise")
    term.wait_for("SURVIVED")
    term.detach()
    assert mux.run("ls").stdout.startswith("noise:")


# -- keyboard protocol and hyperlinks, read at the byte level ----------------------------
# tmux 3.3a keeps neither kitty keyboard flags nor hyperlinks, so here the user's terminal
# is a pty whose every byte is kept, replayed into ptymux's own emulator (which keeps
# both) to read back what the terminal was left with.


@pytest.fixture
def vt_mux() -> Iterator[Mux]:
    """Restoring flags and links is the vt model's (docs/terminal-state.md)."""
    yield from isolated_mux("vt")


def _terminal_state(raw: bytes) -> VtModel:
    terminal = VtModel(80, 24, 100)
    terminal.feed(raw)
    return terminal


def test_kitty_flags_popped_on_detach_and_pushed_on_attach(vt_mux: Mux) -> None:
    script = (r"printf '\033[>1u\033[>5u\033[?1049h\033[>3uKITTY'; "
              r"printf '\033]8;;https://example.com/x\033\\link\033]8;;\033\\'; sleep 60")
    term = vt_mux.spawn("new", "-s", "kb", "--", "sh", "-c", script)
    term.wait_for("KITTYlink")
    with term.lock:
        live = bytes(term.raw)
    shown = _terminal_state(live).term
    assert (shown.kitty_main, shown.kitty_alt) == ([1, 5], [3])
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    left = _terminal_state(bytes(term.raw)).term  # everything, the detach bytes last
    assert (left.in_alt, left.kitty_main, left.kitty_alt) == (False, [], [])
    again = vt_mux.spawn("attach", "-t", "kb")
    again.wait_for("KITTYlink")
    wait_until(lambda: b"\x1b[?25h" in again.raw, what="the redraw's end")
    restored = _terminal_state(bytes(again.raw)).term
    assert (restored.in_alt, restored.kitty_main, restored.kitty_alt) == (True, [1, 5], [3])
    # the hyperlink survived the re-attach, on its cells
    row = restored.buf[0]
    assert [p.link for p in row.pens[5:9]] == [";https://example.com/x"] * 4
    assert row.pens[9].link == ""
    captured = vt_mux.run("capture", "-e", "-t", "kb", check=True).stdout
    assert "\x1b]8;;https://example.com/x\x1b\\link\x1b]8;;\x1b\\" in captured
    again.send(b"\x10\x11")
    assert again.wait_exit() == 0
