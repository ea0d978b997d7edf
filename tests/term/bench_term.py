"""Feed-speed benchmark for the emulator models (not collected by pytest).

    python tests/term/bench_term.py [pyte] [--chunk N]
"""

from __future__ import annotations

import random
import sys
import time

from ptymux.term import create_model


def workloads() -> dict[str, bytes]:
    rnd = random.Random(1)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    plain = []
    sgr = []
    redraw = []
    cjk = []
    for i in range(20000):
        line = " ".join(rnd.choice(words) for _ in range(11))[:79]
        plain.append(line + "\r\n")
        parts = []
        for w in line.split(" "):
            c = rnd.randrange(8)
            parts.append(f"\x1b[1;3{c}m{w}\x1b[0m \x1b[38;5;{rnd.randrange(256)}m")
        sgr.append("".join(parts) + "\x1b[0m\r\n")
        if i % 24 == 0:
            redraw.append("\x1b[H\x1b[2J")
        redraw.append(f"\x1b[{i % 24 + 1};1H\x1b[7m{line[:40]}\x1b[0m{line[40:]}\x1b[K")
        cjk.append("日本語のテキスト、漢字とかなが混在する行です。" + "é" * 20 + "\r\n")
    return {
        "plain": "".join(plain).encode(),
        "sgr": "".join(sgr).encode(),
        "redraw": "".join(redraw).encode(),
        "utf8": "".join(cjk).encode(),
    }


def main() -> None:
    factory = create_model
    chunk = 65536
    if "--chunk" in sys.argv:
        chunk = int(sys.argv[sys.argv.index("--chunk") + 1])
    if "pyte" in sys.argv[1:]:
        from ptymux.term.pyte_model import PyteModel

        factory = PyteModel  # type: ignore[assignment]
    for name, data in workloads().items():
        data = data[: 2 * 1024 * 1024]
        model = factory(80, 24, 2000)
        t0 = time.perf_counter()
        for i in range(0, len(data), chunk):
            model.feed(data[i : i + chunk])
        dt = time.perf_counter() - t0
        print(f"{name:8s} {len(data) / dt / 1e6:6.2f} MB/s")


if __name__ == "__main__":
    main()
