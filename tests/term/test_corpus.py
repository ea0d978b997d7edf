"""The xterm.js escape-sequence corpus: our screen must match what real xterm showed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptymux.term import create_model, ghostty_model

REPO = Path(__file__).resolve().parents[2]
CORPUS = (REPO / ".." / "shared" / "corpus" / "xtermjs").resolve()
PASSING_LISTS = {  # per emulator model: the cases it must keep passing
    "vt": Path(__file__).with_name("corpus_passing.txt"),
    "ghostty": Path(__file__).with_name("corpus_passing_ghostty.txt"),
}


def corpus_cases() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(p.stem for p in CORPUS.glob("*.in") if p.with_suffix(".text").exists())


def run_case(name: str, kind: str = "vt") -> tuple[list[str], list[str]]:
    """(our rows, xterm's rows) for one case, right-trimmed, 25 rows each."""
    data = (CORPUS / f"{name}.in").read_bytes().replace(b"\n", b"\r\n")
    expected = (CORPUS / f"{name}.text").read_text("utf-8", "replace").split("\n")[:25]
    expected = [line.rstrip() for line in expected]
    expected += [""] * (25 - len(expected))
    model = create_model(80, 25, 2000, kind)
    model.feed(data)
    return [line.rstrip() for line in model.capture()], expected


def known_passing(kind: str = "vt") -> list[str]:
    lines = PASSING_LISTS[kind].read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


@needs_corpus
@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind in PASSING_LISTS for name in known_passing(kind)]
)
def test_known_passing_case(kind: str, name: str) -> None:
    if kind == "ghostty" and not ghostty_model.available():
        pytest.skip("pyghostty is not installed")
    got, expected = run_case(name, kind)
    assert got == expected


@needs_corpus
def test_corpus_pass_count() -> None:
    cases = corpus_cases()
    passing = [name for name in cases if (r := run_case(name))[0] == r[1]]
    print(f"\nxterm.js corpus: {len(passing)} of {len(cases)} cases pass")
    listed = set(known_passing())
    assert listed <= set(passing), f"regressed: {sorted(listed - set(passing))}"
    assert len(passing) >= 60
