"""``capture -J`` joins soft-wrapped rows without the blank a two-cell character leaves at
a row's end when it does not fit there (tmux's ``capture-pane -J`` has none either)."""

from __future__ import annotations

from ptymux.term import create_model


def test_the_filler_blank_is_not_joined_on_screen_or_in_history() -> None:
    model = create_model(10, 6, 100, "vt")
    model.feed("abcdefghi日本\r\n".encode())
    model.feed("\x1b[31mabcdefghi\x1b[32m日本\x1b[0m\r\n".encode())
    assert model.capture(None, None, False, True)[:2] == ["abcdefghi日本", "abcdefghi日本"]
    model.feed(b"\r\n" * 8)  # both lines into the history
    lines = model.capture(-100, None, False, True)
    assert lines[:2] == ["abcdefghi日本", "abcdefghi日本"]
    styled = model.capture(-100, None, True, True)[1]
    assert styled.replace("\x1b[0m", "").replace("\x1b[0;31m", "").replace(
        "\x1b[0;32m", "") == "abcdefghi日本"
    assert "\x1b[0;32m日本" in styled
    # without -J the rows are as they are: the blank stays on the first row
    assert model.capture(-100, None, False, False)[:2] == ["abcdefghi", "日本"]
