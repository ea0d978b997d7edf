"""Record what real programs write to an 80x24 xterm-256color pty (run by hand).

    python tests/term/recordings/record.py [name ...]

Each scenario starts a program in a fresh pty (bash --norc, HOME in a temporary directory),
types its keys with pauses, answers terminal queries from ptymux's own model (as the server
does), and stores everything the program wrote in ``<name>.bin`` next to this file. The
recordings are replayed by ``tests/term/test_roundtrip.py``.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from ptymux.term import create_model

HERE = Path(__file__).parent
COLS, ROWS = 80, 24
PS1 = r"\[\e[1;32m\]user@host\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ "

# name: (argv, [(delay seconds, keys), ...])
SCENARIOS: dict[str, tuple[list[str], list[tuple[float, bytes]]]] = {
    "bash_prompt": (["bash", "--norc", "-i"], [
        (0.5, b"echo hello world\r"), (0.3, b"printf '\\e[1;31mred\\e[0m\\n'\r"),
        (0.3, b"for i in 1 2 3; do echo line $i; done\r"), (0.3, b"a long command line "
        b"that goes on and on and on past the right margin of the terminal so it wraps"),
        (0.3, b"\x15"), (0.3, b""),
    ]),
    "ls_color": (["bash", "--norc", "-i"], [
        (0.5, b"ls --color=always -la /usr/bin | head -40\r"), (0.5, b""),
    ]),
    "vim": (["vim", "-u", "NONE", "-N", "-c", "syntax on", "/etc/passwd"], [
        (1.0, b"jjjw"), (0.3, b"otyped text \xc3\xa9\xe6\x97\xa5\x1b"), (0.3, b":set nu\r"),
        (0.3, b"\x06"), (0.5, b""),
    ]),
    "vim_quit": (["vim", "-u", "NONE", "-N", "/etc/services"], [
        (1.0, b"\x06\x06"), (0.3, b":q!\r"), (0.5, b""),
    ]),
    "less": (["less", "/etc/services"], [
        (0.7, b" "), (0.3, b"/tcp\r"), (0.3, b"j"), (0.5, b""),
    ]),
    "man": (["man", "ls"], [(1.5, b"  "), (0.5, b"q"), (0.5, b"")]),
    "top": (["top", "-d", "0.5"], [(1.2, b""), (0.2, b"q"), (0.3, b"")]),
}


def record(argv: list[str], script: list[tuple[float, bytes]]) -> bytes:
    home = tempfile.mkdtemp()
    env = {
        "TERM": "xterm-256color", "HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8", "PS1": PS1, "MANPAGER": "less", "PAGER": "less",
        "COLUMNS": str(COLS), "LINES": str(ROWS),
    }
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(home)
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    model = create_model(COLS, ROWS, 100)
    out = bytearray()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            out.extend(data)
            model.feed(data)
            replies = model.take_replies()
            if replies:
                os.write(fd, replies)

    for delay, keys in script:
        pump(delay)
        if keys:
            os.write(fd, keys)
    pump(0.3)
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass
    os.close(fd)
    return bytes(out)


def main() -> None:
    names = sys.argv[1:] or list(SCENARIOS)
    for name in names:
        argv, script = SCENARIOS[name]
        data = record(argv, script)
        (HERE / f"{name}.bin").write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
