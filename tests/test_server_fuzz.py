"""The server against the fuzzer (bench/fuzz.py holds the probes and the invariants): every
probe class, a couple of seeds, a few hundred frames per class, every invariant asserted
after every batch. ``python bench/fuzz.py --seconds 300`` is the long version.

A failure message carries the fuzzer's summary: each failure names its seed, batch and class,
with the ``python bench/fuzz.py ...`` command that replays it.
"""

from __future__ import annotations

import os
import sys

import pytest

from harness import Mux

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))

import fuzz  # noqa: E402

# The second seed runs the classes whose probes the seed shapes most (the special ones,
# linger, and the slow big-frame ones hardly change with it), to keep this file short.
RANDOMIZED = ("random", "payload", "fields", "mutate", "sequence", "fds")
FRAMES = 100  # per batch: with the warm-up, 200 frames per class and seed


@pytest.mark.parametrize(("seed", "classes"), [(1, fuzz.CLASSES), (2, RANDOMIZED)],
                         ids=["seed1-every-class", "seed2-randomized-classes"])
def test_the_server_survives_the_fuzzer(mux: Mux, seed: int, classes: tuple[str, ...]) -> None:
    # A warm-up round (each batch checked, but for fds and RSS, whose baselines it sets),
    # one checked batch per class, then kill-server and 'new' after it. The run bounds
    # itself: every socket operation has a timeout, every wait a deadline, and a server so
    # slow that the run passes its budget fails it (well within pytest-timeout's 60 s).
    settings = fuzz.Settings(seed=seed, batches=len(classes), frames=FRAMES, classes=classes,
                             quiet=True, budget=30.0)
    report = fuzz.Fuzzer(mux, settings).run()
    assert not report.failures, report.summary()
    assert report.batches == len(classes)
    # each randomized class sent (about) a batch of frames in the warm-up and one after
    randomized = [c for c in classes if c in RANDOMIZED]
    assert all(report.per_class[c].frames >= FRAMES for c in randomized), report.summary()
