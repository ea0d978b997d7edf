"""tmux-style formats for ls -F (ptymux.formats): every feature and error, table-driven, and
templates compared with what tmux 3.3a's display-message prints for the same values."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import PrivateTmux, tmux_version
from ptymux.formats import MAX_DEPTH, FormatError, check, expand

CREATED = 1764649320  # an epoch time
VALUES: dict[str, object] = {
    "session_name": "mysession",
    "session_id": 3,
    "session_attached": 0,
    "session_windows": 1,
    "session_created": CREATED,
    "session_created_str": str(CREATED),
    "session_created_float": CREATED + 0.75,
    "never": 0,
    "flag_on": True,
    "flag_off": False,
    "zero_str": "0",
    "double_zero": "00",
    "empty": "",
    "ratio": 1.5,
    "wide": "日本語テキスト",
    "comma": "a,b",
    "hash": "#{session_name}",  # a value is never expanded again
}

CASES: list[tuple[str, str]] = [
    # plain text and escapes
    ("", ""),
    ("plain text", "plain text"),
    ("a,b}c{d", "a,b}c{d"),  # , } { are text at the top level
    ("##", "#"),
    ("a##b", "a#b"),
    ("####", "##"),
    ("#,", ","),
    ("#}", "}"),
    ("##{session_name}", "#{session_name}"),
    ("###{session_name}", "#mysession"),
    ("ä ✓ 日本", "ä ✓ 日本"),
    # variables and how values render
    ("#{session_name}", "mysession"),
    ("#{session_name}: #{session_windows} windows", "mysession: 1 windows"),
    ("#{session_id}", "3"),
    ("#{flag_on}#{flag_off}", "10"),
    ("#{ratio}", "1.5"),
    ("#{empty}", ""),
    ("#{comma}", "a,b"),
    ("#{hash}", "#{session_name}"),
    ("[#{session_name}]", "[mysession]"),
    # conditionals
    ("#{?session_name,yes,no}", "yes"),
    ("#{?session_attached,yes,no}", "no"),
    ("#{?flag_on,yes,no}", "yes"),
    ("#{?flag_off,yes,no}", "no"),
    ("#{?zero_str,yes,no}", "no"),
    ("#{?double_zero,yes,no}", "yes"),  # only "0" itself is false, as in tmux
    ("#{?empty,yes,no}", "no"),
    ("#{?session_windows,yes,no}", "yes"),
    ("#{?ratio,yes,no}", "yes"),
    ("#{?session_name,,no}", ""),
    ("#{?empty,yes,}", ""),
    ("#{?session_name,a#,b,c}", "a,b"),
    ("#{?empty,a,b#,c}", "b,c"),
    ("#{?session_name,#},no}", "}"),
    ("#{?session_name,{,no}", "{"),
    ("#{?session_name,##,no}", "#"),
    ("#{?session_name,#{session_windows},x}", "1"),
    ("#{?session_name,#{?session_attached,a,b},c}", "b"),
    ("#{?empty,#{?session_attached,a,b},#{?flag_on,c,d}}", "c"),
    ("#{?#{session_name},yes,no}", "yes"),
    ("#{?#{empty},yes,no}", "no"),
    ("#{?#{zero_str},yes,no}", "no"),
    ("#{?#{==:#{session_name},mysession},same,diff}", "same"),
    ("#{?#{!=:#{session_name},mysession},diff,same}", "same"),
    ("#{?x#{empty},yes,no}", "yes"),  # a template condition: its expansion is tested
    ("<#{?session_attached,attached,detached}>", "<detached>"),
    # comparisons
    ("#{==:a,a}", "1"),
    ("#{==:a,b}", "0"),
    ("#{!=:a,b}", "1"),
    ("#{!=:a,a}", "0"),
    ("#{==:,}", "1"),
    ("#{!=:,}", "0"),
    ("#{==:1,01}", "0"),  # text, not numbers
    ("#{==:a#,b,a#,b}", "1"),
    ("#{==:#{session_name},mysession}", "1"),
    ("#{==:session_name,mysession}", "0"),  # a bare word is text there, as in tmux
    ("#{==:#{session_windows},1}", "1"),
    ("#{==:#{flag_on},1}", "1"),
    ("#{==:#{?session_name,x,y},x}", "1"),
    ("#{==:#{==:a,a},1}", "1"),
    ("#{!=:#{session_name},#{session_id}}", "1"),
    # truncation
    ("#{=3:session_name}", "mys"),
    ("#{=-3:session_name}", "ion"),
    ("#{=+3:session_name}", "mys"),
    ("#{=0:session_name}", "mysession"),
    ("#{=-0:session_name}", "mysession"),
    ("#{=9:session_name}", "mysession"),
    ("#{=30:session_name}", "mysession"),
    ("#{=-30:session_name}", "mysession"),
    ("#{=1:empty}", ""),
    ("#{=2:wide}", "日本"),  # characters, not cells
    ("#{=-2:wide}", "スト"),
    ("#{=1:flag_on}", "1"),
    ("#{=2:ratio}", "1."),
    ("#{=3:#{session_name}}", "mys"),
    ("#{=-2:#{session_name}-#{session_id}}", "-3"),
    ("#{=3;=5:session_name}", "myses"),  # the last =N wins, as in tmux
    ("#{?session_name,#{=2:session_name},no}", "my"),
    # times
    ("#{t:session_created}", time.ctime(CREATED)),
    ("#{t:session_created_str}", time.ctime(CREATED)),
    ("#{t:session_created_float}", time.ctime(CREATED + 0.75)),
    ("#{t:never}", ""),  # 0: never set, shown as nothing (tmux)
    ("#{t;=3:session_created}", time.ctime(CREATED)[:3]),
    ("#{=3;t:session_created}", time.ctime(CREATED)[:3]),
    ("#{=-4:#{t:session_created}}", time.ctime(CREATED)[-4:]),
    ("#{t;t:session_created}", time.ctime(CREATED)),
    ("created #{t:session_created}#{?session_attached, (attached),}",
     f"created {time.ctime(CREATED)}"),
]


@pytest.mark.parametrize(("template", "want"), CASES)
def test_expand(template: str, want: str) -> None:
    assert expand(template, VALUES) == want
    check(template, VALUES)  # anything that expands also checks


def test_ctime_format() -> None:
    """tmux prints times like ctime(3): 'Tue Dec  2 04:22:00 2025' (day padded with a space)."""
    out = expand("#{t:session_created}", VALUES)
    assert len(out) == 24 and out[3] == " " and out[7] == " " and out[10] == " "


def test_nesting_to_the_limit() -> None:
    deep = "#{?session_name," * (MAX_DEPTH - 1) + "#{session_id}" + ",x}" * (MAX_DEPTH - 1)
    assert expand(deep, VALUES) == "3"
    with pytest.raises(FormatError, match="nested more than"):
        expand("#{?session_name," * MAX_DEPTH + "#{session_id}" + ",x}" * MAX_DEPTH, VALUES)
    with pytest.raises(FormatError, match="nested more than"):  # not a RecursionError
        expand("#{==:" * 10000, VALUES)


def test_only_the_taken_branch_is_evaluated() -> None:
    # The other branch would fail (not a time): it is never evaluated.
    assert expand("#{?session_attached,#{t:session_name},ok}", VALUES) == "ok"
    with pytest.raises(FormatError, match="not a time"):
        expand("#{?session_name,#{t:session_name},ok}", VALUES)


def test_values_are_never_expanded_again() -> None:
    assert expand("#{x}", {"x": "#{y}##"}) == "#{y}##"


def test_any_mapping_and_value_types() -> None:
    from types import MappingProxyType

    assert expand("#{a}-#{b}", MappingProxyType({"a": 1, "b": "x"})) == "1-x"
    with pytest.raises(TypeError, match="expected str, int, float or bool"):
        expand("#{a}", {"a": None})
    with pytest.raises(TypeError):
        expand("#{a}", {"a": [1]})


# (template, what the message must say)
ERRORS: list[tuple[str, str]] = [
    # unknown names, with the nearest known ones
    ("#{sesion_name}", "unknown variable 'sesion_name' in '#{sesion_name}' (did you mean "
                       "session_name"),
    ("#{session_nme} #{session_name}", "unknown variable 'session_nme'"),
    ("#{xyzzy}", "unknown variable 'xyzzy' in '#{xyzzy}' (known: comma, double_zero"),
    ("#{?session_atached,a,b}", "unknown variable 'session_atached' in the condition of "
                                "'#{?session_atached,a,b}' (did you mean session_attached"),
    ("#{?1,yes,no}", "unknown variable '1' in the condition of '#{?1,yes,no}'"),
    ("#{?a b,yes,no}", "unknown variable 'a b'"),
    ("#{?a#,b,yes,no}", "unknown variable 'a,b'"),
    ("#{?session_name,#{nope},ok}", "unknown variable 'nope'"),  # even in a branch not taken
    ("#{?empty,ok,#{nope}}", "unknown variable 'nope'"),
    ("#{==:#{nope},a}", "unknown variable 'nope'"),
    ("#{=3:nope}", "unknown variable 'nope' in '#{=3:nope}'"),
    ("#{=3:#{nope}}", "unknown variable 'nope'"),
    ("#{t:nope}", "unknown variable 'nope'"),
    ("#{a,b}", "unknown variable 'a,b'"),
    ("#{ session_name}", "unknown variable ' session_name'"),
    ("#{Session_Name}", "unknown variable 'Session_Name'"),  # names are case-sensitive
    ("#{#}}", "unknown variable '}'"),
    # unterminated
    ("#{session_name", "unterminated '#{session_name' (no closing })"),
    ("#{", "unterminated '#{'"),
    ("x #{?session_name,a,b", "unterminated '#{?session_name,a,b'"),
    ("#{?session_name,a", "unterminated"),
    ("#{?session_name", "unterminated"),
    ("#{==:a,b", "unterminated"),
    ("#{==:a", "unterminated"),
    ("#{=3:session_name", "unterminated"),
    ("#{session_name#}", "unterminated"),
    ("#{?session_name,#{session_id,b}", "unterminated"),
    # stray #
    ("#", "stray '#' at column 1"),
    ("trail#", "stray '#' at column 6"),
    ("#S", "stray '#S' at column 1"),
    ("a #(date)", "stray '#(' at column 3"),
    ("#[fg=red]", "stray '#['"),
    ("#{?session_name,#x,b}", "stray '#x' at column 17"),
    ("#{==:#x,b}", "stray '#x'"),
    # malformed conditionals and comparisons
    ("#{?session_name,yes}", "'#{?session_name,yes}': #{?...} needs a condition, a then"),
    ("#{?session_name}", "#{?...} needs a condition, a then and an else"),
    ("#{?}", "#{?...} needs a condition"),
    ("#{?,a,b}", "'#{?,a,b}': empty condition"),
    ("#{?session_name,a,b,c}", "too many commas in #{?...}: write #, for a literal comma"),
    ("#{?session_name,a,b,c,d}", "too many commas"),
    ("#{==:a}", "a comparison needs two sides"),
    ("#{==:a,b,c}", "too many commas in a comparison"),
    ("#{!=:a,b,c}", "too many commas in a comparison"),
    # modifiers
    ("#{}", "'#{}': empty variable name"),
    ("#{=3:}", "empty variable name"),
    ("#{foo:bar}", "unknown modifier 'foo' in '#{foo:' (known: t, =N"),
    ("#{=:session_name}", "unknown modifier '='"),
    ("#{=x:session_name}", "unknown modifier '=x'"),
    ("#{=3x:session_name}", "unknown modifier '=3x'"),
    ("#{= 3:session_name}", "unknown modifier '= 3'"),
    ("#{=٣:session_name}", "unknown modifier"),  # an Arabic-Indic digit is not a number
    ("#{t/p:session_created}", "unknown modifier 't/p'"),
    ("#{T:session_created}", "unknown modifier 'T'"),
    ("#{t;:session_created}", "unknown modifier ''"),
    ("#{:session_name}", "unknown modifier ''"),
    ("#{<:a,b}", "unknown modifier '<'"),
    ("#{m:a,b}", "unknown modifier 'm'"),
    ("#{e|+|:1,2}", "unknown modifier"),
    ("#{t:#{session_created}}", "t: takes a variable name"),
    # t: on values that are not times
    ("#{t:session_name}", "'mysession' is not a time (seconds since the epoch)"),
    ("#{t:empty}", "'' is not a time"),
    ("#{t:flag_on}", "True is not a time"),
    ("#{t:comma}", "not a time"),
]  # fmt: skip


@pytest.mark.parametrize(("template", "message"), ERRORS)
def test_error(template: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        expand(template, VALUES)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_huge_times_are_format_errors() -> None:
    for value in (10**30, float("inf"), float("nan"), "1e400", "nan"):
        with pytest.raises(FormatError, match="is not a time"):
            expand("#{t:x}", {"x": value})


def test_error_messages_stay_one_line() -> None:
    for template in ("#{a\nb}", "#\n", "#{?a\n,b,c}", "#{x\x1b[2J}"):
        with pytest.raises(FormatError) as info:
            expand(template, {"a": 1})
        assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


def test_long_templates_are_shortened_in_messages() -> None:
    with pytest.raises(FormatError) as info:
        expand("#{" + "x" * 500, {})
    assert len(str(info.value)) < 100


def test_unknown_name_lists_known_names_when_none_is_near() -> None:
    with pytest.raises(FormatError, match=r"\(known: a, b\)$"):
        expand("#{zzz}", {"b": 1, "a": 2})
    with pytest.raises(FormatError, match=r"\(known: none\)$"):
        expand("#{zzz}", {})
    many = {f"name{i:02}": i for i in range(20)}
    with pytest.raises(FormatError, match=r"name11, \.\.\.\)$"):
        expand("#{qqqqqqq}", many)


def test_check_without_values() -> None:
    check("#{session_name} #{?session_attached,a,b}", ["session_name", "session_attached"])
    with pytest.raises(FormatError, match="unknown variable 'sesion_name'"):
        check("#{sesion_name}", ["session_name"])
    with pytest.raises(FormatError, match="unterminated"):
        check("#{session_name", ["session_name"])
    check("#{t:session_name}", ["session_name"])  # value errors need values


ALPHABET = st.sampled_from(["#", "{", "}", "?", ",", "=", ":", "!", "t", ";", "-", "3", "a",
                            "b", "x", "##", "#{", "#,", "#}", "#{a}", "#{?a,", "#{==:"])


@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_any_template_expands_or_raises_format_error(template: str) -> None:
    try:
        out = expand(template, {"a": "1", "b": 0})
    except FormatError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(out, str)


@given(st.text(alphabet=st.characters(blacklist_characters="#"), max_size=40))
def test_text_without_hash_is_unchanged(text: str) -> None:
    assert expand(text, {}) == text


def test_import_is_light() -> None:
    """The CLI imports this: no typing, no re, no difflib until an error."""
    code = ("import sys, ptymux; before = set(sys.modules); import ptymux.formats; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()
    assert out == ["ptymux.formats"]


# --- against the real tmux 3.3a -----------------------------------------------------------

SESSION = "ptymux-fmt-session"

# Templates tmux 3.3a and ptymux expand the same, given tmux's own values for the session.
AGREE = [
    "plain", "##", "a##b", "a#,b", "a#}b", "x}y", "a,b{c",
    "#{session_name}", "#{session_windows}", "#{session_attached}", "#{session_created}",
    "#{session_name}: #{session_windows} windows",
    "#{?session_name,yes,no}", "#{?session_attached,yes,no}", "#{?session_windows,yes,no}",
    "#{?#{session_name},yes,no}", "#{?#{session_attached},yes,no}",
    "#{?session_name,,no}", "#{?session_attached,yes,}",
    "#{?session_name,a#,b,c}", "#{?session_attached,a,b#,c}", "#{?session_name,#},no}",
    "#{?session_name,{,no}", "#{?session_name,#{?session_attached,a,b},c}",
    "#{?#{==:a,a},same,diff}", "#{?#{!=:a,a},same,diff}",
    "#{?#{==:#{session_name}," + SESSION + "},mine,other}",
    "#{==:a,a}", "#{==:a,b}", "#{!=:a,b}", "#{!=:a,a}", "#{==:,}", "#{!=:,}", "#{==:1,01}",
    "#{==:a#,b,a#,b}", "#{==:#{session_name}," + SESSION + "}",
    "#{==:session_name," + SESSION + "}", "#{==:#{?session_name,x,y},x}",
    "#{=3:session_name}", "#{=-3:session_name}", "#{=0:session_name}", "#{=-0:session_name}",
    "#{=+3:session_name}", "#{=99:session_name}", "#{=-99:session_name}",
    "#{=3:#{session_name}}", "#{=3;=5:session_name}",
    "#{t:session_created}", "#{t;=3:session_created}", "#{=3;t:session_created}",
    "#{=-4:#{t:session_created}}",
    "[#{=5:session_name}|#{?session_attached,att,det}|#{t:session_created}]",
]  # fmt: skip
NAMES = ["session_name", "session_windows", "session_attached", "session_created"]

# Where ptymux refuses what tmux quietly gets wrong: template -> what tmux 3.3a prints.
DIFFER = {
    "#{?1,yes,no}": "no", "#{nosuch}": "", "#{session_name": "", "#{}": "",
    "#{?session_name,yes}": "", "#{?session_name,a,b,c}": "a",
    "#{?session_attached,a,b,c}": "b,c", "#{==:a,a,a}": "0", "#x": "#x", "trail#": "trail#",
    "#{t:session_name}": "", "#{t:#{session_created}}": "<created>", "#{=:session_name}": SESSION,
}  # fmt: skip


@pytest.mark.timeout(20)
def test_against_tmux() -> None:
    version = tmux_version()
    if version != "tmux 3.3a":
        pytest.skip(f"needs tmux 3.3a (found {version or 'none'})")
    tmux = PrivateTmux("formats")
    try:
        tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", "sleep 30")
        # One display-message per template, all in one tmux call; a line of its own each.
        templates = ["#{" + "}|#{".join(NAMES) + "}", *AGREE, *DIFFER]
        command: list[str] = []
        for template in templates:
            command += ["display-message", "-p", "-t", SESSION, template, ";"]
        lines = tmux(*command[:-1]).split("\n")
    finally:
        tmux.close()

    assert len(lines) == len(templates) + 1 and lines[-1] == "", lines
    values: dict[str, object] = dict(zip(NAMES, lines[0].split("|"), strict=True))
    assert values["session_name"] == SESSION
    got = dict(zip(templates[1:], lines[1:], strict=False))
    mismatches = [(t, got[t], expand(t, values)) for t in AGREE if got[t] != expand(t, values)]
    assert not mismatches, "(template, tmux, ptymux): " + repr(mismatches)
    # The documented differences are real: tmux does print these, and ptymux refuses.
    want = {t: out.replace("<created>", str(values["session_created"]))
            for t, out in DIFFER.items()}
    assert {t: got[t] for t in DIFFER} == want
    for template in DIFFER:
        with pytest.raises(FormatError):
            expand(template, values)
