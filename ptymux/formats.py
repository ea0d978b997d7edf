"""tmux-style formats for ``ls -F``: ``#{session_name}: #{?session_attached,attached,-}``.

People who script tmux already write these templates; ``ls -F`` takes the same language so
their habits and snippets carry over. This is the subset a session list needs, parsed by a
small recursive-descent parser (never eval) into a tree that is then evaluated against one
session's values:

- ``#{name}``: the value. str as is, int and float as Python prints them, bool as ``1``/``0``
  (tmux's flags).
- ``##``, ``#,``, ``#}``: a literal ``#``, ``,`` and ``}``; the last two matter inside the
  arguments of ``#{?...}`` and ``#{==:...}``, where ``,`` separates and ``}`` closes.
- ``#{?cond,then,else}``: ``then`` if ``cond`` is true, else ``else``; true means not empty
  and not ``0`` (so ``00`` is true, as in tmux). ``cond`` is a variable name, or a template
  holding a ``#{...}`` (``#{?#{==:#{session_name},main},*, }``).
- ``#{==:a,b}``, ``#{!=:a,b}``: ``1`` or ``0``; ``a`` and ``b`` are templates (a bare word is
  literal text there, as in tmux: ``#{==:#{session_name},main}``).
- Modifiers before a ``:``, several joined by ``;`` (``#{t;=10:session_created}``):
  ``t`` shows an epoch time as ``time.ctime`` does (tmux's ``ctime(3)``: ``Tue Dec  2
  04:22:00 2025``, local time; 0 means never and shows nothing, as in tmux), and ``=N``
  keeps the first N characters, ``=-N`` the last N (``=0``: all). ``=N`` also applies to a
  nested template (``#{=3:#{session_name}}``), as in tmux.
- Templates nest to any depth tmux allows (100 levels).

Where this is stricter than tmux 3.3a, which quietly expands mistakes to nothing or to
themselves, so ``ls -F`` output silently goes wrong: an unknown variable is a FormatError
naming the nearest known names (tmux: empty); so is a literal condition (``#{?1,a,b}`` is
always false in tmux: ``1`` is not a variable), an unterminated ``#{``, ``#`` followed by
anything but ``{``, ``#``, ``,``, ``}`` (tmux's ``#S`` aliases, ``#(cmd)`` and ``#[style]``
are not supported), a missing ``else``, extra commas in ``#{?...}`` or ``#{==:...}`` (tmux
3.3a makes them part of the last argument; newer tmux reads ``#{?c1,a,c2,b,c}`` as a chain),
an unknown modifier, ``=`` without a number, ``t:`` on something that is not a time (tmux:
empty) or on a nested template (tmux ignores the ``t`` there). Truncation counts characters
where tmux counts terminal cells, so wide characters count once.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~3 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

MAX_DEPTH = 100  # tmux's FORMAT_LOOP_LIMIT: a bound on recursion, not a practical limit


class FormatError(Exception):
    """A template that cannot be expanded; the message (one line) names the bad part."""


# --- the tree -------------------------------------------------------------------------------


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Var:
    """``#{name}``, with modifiers."""

    __slots__ = ("name", "time", "limit", "source")

    def __init__(self, name: str, time: bool, limit: int, source: str) -> None:
        self.name, self.time, self.limit, self.source = name, time, limit, source


class _Inner:
    """``#{=N:#{...}}``: a template inside, truncated."""

    __slots__ = ("nodes", "limit")

    def __init__(self, nodes: list[_Node], limit: int) -> None:
        self.nodes, self.limit = nodes, limit


class _Cond:
    """``#{?cond,then,else}``: cond is a variable name (a str) or a template."""

    __slots__ = ("cond", "then", "other", "source")

    def __init__(self, cond: str | list[_Node], then: list[_Node], other: list[_Node],
                 source: str) -> None:
        self.cond, self.then, self.other, self.source = cond, then, other, source


class _Cmp:
    """``#{==:a,b}`` (equal is True) or ``#{!=:a,b}``."""

    __slots__ = ("equal", "left", "right")

    def __init__(self, equal: bool, left: list[_Node], right: list[_Node]) -> None:
        self.equal, self.left, self.right = equal, left, right


if TYPE_CHECKING:
    _Node = _Text | _Var | _Inner | _Cond | _Cmp


# --- parsing ---------------------------------------------------------------------------------


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class _Parser:
    def __init__(self, template: str) -> None:
        self.s = template
        self.i = 0
        self.depth = 0

    def template(self, stop: str) -> list[_Node]:
        """Text and #{...} up to the end or a character of ``stop`` (not consumed)."""
        s, n = self.s, len(self.s)
        nodes: list[_Node] = []
        text: list[str] = []
        while self.i < n:
            c = s[self.i]
            if c in stop:
                break
            if c != "#":
                # Copy a run of plain characters at once.
                j = self.i + 1
                while j < n and s[j] != "#" and s[j] not in stop:
                    j += 1
                text.append(s[self.i : j])
                self.i = j
                continue
            nxt = s[self.i + 1 : self.i + 2]
            if nxt == "{":
                if text:
                    nodes.append(_Text("".join(text)))
                    text = []
                nodes.append(self.braces())
            elif nxt and nxt in "#,}":
                text.append(nxt)
                self.i += 2
            else:
                raise FormatError(
                    f"stray {_excerpt(s[self.i : self.i + 2])} at column {self.i + 1}: "
                    "# starts #{...}, or ##, #, or #} for a literal #, comma or }"
                )
        if text:
            nodes.append(_Text("".join(text)))
        return nodes

    def expect(self, char: str, start: int, what: str) -> None:
        got = self.s[self.i : self.i + 1]
        source = self.s[start : self.i + 1]
        if not got:
            raise FormatError(f"unterminated {_excerpt(source)} (no closing }})")
        if got != char:
            raise FormatError(f"{_excerpt(source)}: {what}")
        self.i += 1

    def braces(self) -> _Node:
        start = self.i
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormatError(f"templates nested more than {MAX_DEPTH} deep")
        self.i += 2  # "#{"
        s = self.s
        node: _Node
        if s.startswith("?", self.i):
            self.i += 1
            cond = self.template(",}")
            self.expect(",", start, "#{?...} needs a condition, a then and an else")
            then = self.template(",}")
            self.expect(",", start, "#{?...} needs a condition, a then and an else")
            other = self.template(",}")
            self.expect("}", start, "too many commas in #{?...}: write #, for a literal comma")
            source = s[start : self.i]
            node = _Cond(self.condition(cond, source), then, other, source)
        elif s.startswith(("==:", "!=:"), self.i):
            equal = s[self.i] == "="
            self.i += 3
            left = self.template(",}")
            self.expect(",", start, "a comparison needs two sides: #{==:a,b}")
            right = self.template(",}")
            self.expect("}", start, "too many commas in a comparison: write #, for a comma")
            node = _Cmp(equal, left, right)
        else:
            node = self.variable(start)
        self.depth -= 1
        return node

    def condition(self, cond: list[_Node], source: str) -> str | list[_Node]:
        if any(not isinstance(node, _Text) for node in cond):
            return cond
        name = "".join(node.text for node in cond if isinstance(node, _Text))
        if not name:
            raise FormatError(f"{_excerpt(source)}: empty condition")
        return name

    def variable(self, start: int) -> _Node:
        """``name``, ``mods:name`` or ``mods:#{...}`` then ``}``, after ``#{``."""
        s = self.s
        time, limit = False, 0
        j = self.i
        while j < len(s) and s[j] not in ":}#,{":
            j += 1
        if s[j : j + 1] == ":":
            for mod in s[self.i : j].split(";"):
                if mod == "t":
                    time = True
                elif mod[:1] == "=" and _is_number(mod[1:]):
                    limit = int(mod[1:])
                else:
                    raise FormatError(
                        f"unknown modifier {mod!r} in {_excerpt(s[start : j + 1])} "
                        "(known: t, =N, and #{?...}, #{==:...}, #{!=:...})"
                    )
            self.i = j + 1
        target = self.template("}")
        self.expect("}", start, "expected }")
        source = s[start : self.i]
        if any(not isinstance(node, _Text) for node in target):
            if time:
                raise FormatError(f"{_excerpt(source)}: t: takes a variable name")
            return _Inner(target, limit)
        name = "".join(node.text for node in target if isinstance(node, _Text))
        if not name:
            raise FormatError(f"{_excerpt(source)}: empty variable name")
        return _Var(name, time, limit, source)


def _is_number(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit()


def _parse(template: str) -> list[_Node]:
    return _Parser(template).template("")  # at the top level "," and "}" are text


# --- checking and evaluating ---------------------------------------------------------------


def _names(nodes: list[_Node]) -> Iterator[tuple[str, str]]:
    """(name, where) of every variable, in order, in taken and untaken branches alike."""
    for node in nodes:
        if isinstance(node, _Var):
            yield node.name, _excerpt(node.source)
        elif isinstance(node, _Inner):
            yield from _names(node.nodes)
        elif isinstance(node, _Cond):
            if isinstance(node.cond, str):
                yield node.cond, f"the condition of {_excerpt(node.source)}"
            else:
                yield from _names(node.cond)
            yield from _names(node.then)
            yield from _names(node.other)
        elif isinstance(node, _Cmp):
            yield from _names(node.left)
            yield from _names(node.right)


def _check_names(nodes: list[_Node], known: Iterable[str]) -> None:
    """Every name must be known, taken branch or not: a typo is found before it bites."""
    known_set = set(known)
    for name, where in _names(nodes):
        if name not in known_set:
            import difflib  # only now: an error costs nothing to the common case

            choices = sorted(known_set)
            near = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
            if near:
                hint = f"did you mean {', '.join(near)}?"
            else:
                more = ", ..." if len(choices) > 12 else ""
                hint = f"known: {', '.join(choices[:12]) or 'none'}{more}"
            raise FormatError(f"unknown variable {name!r} in {where} ({hint})")


def _render(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError(f"format value {value!r}: expected str, int, float or bool")


def _truthy(text: str) -> bool:
    return text != "" and text != "0"


def _ctime(value: object, source: str) -> str:
    seconds: float
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FormatError(f"{_excerpt(source)}: {value!r} is not a time")
    try:
        seconds = float(value)
        if seconds == 0:
            return ""  # tmux: a time of 0 was never set
        import time

        return time.ctime(seconds)
    except (ValueError, OverflowError, OSError):
        raise FormatError(
            f"{_excerpt(source)}: {_render(value)!r} is not a time (seconds since the epoch)"
        ) from None


def _truncate(text: str, limit: int) -> str:
    if limit > 0:
        return text[:limit]
    if limit < 0:
        return text[limit:]
    return text


def _evaluate(nodes: list[_Node], values: Mapping[str, object]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = values[node.name]
            text = _ctime(value, node.source) if node.time else _render(value)
            out.append(_truncate(text, node.limit))
        elif isinstance(node, _Inner):
            out.append(_truncate(_evaluate(node.nodes, values), node.limit))
        elif isinstance(node, _Cond):
            if isinstance(node.cond, str):
                test = _render(values[node.cond])
            else:
                test = _evaluate(node.cond, values)
            out.append(_evaluate(node.then if _truthy(test) else node.other, values))
        else:
            same = _evaluate(node.left, values) == _evaluate(node.right, values)
            out.append("1" if same == node.equal else "0")
    return "".join(out)


def expand(template: str, values: Mapping[str, object]) -> str:
    """``template`` with every ``#{...}`` replaced from ``values`` (module docstring).

    Raises FormatError for a malformed template or an unknown variable (even in a branch not
    taken), and for ``t:`` on a value that is not a time.
    """
    nodes = _parse(template)
    _check_names(nodes, values.keys())
    return _evaluate(nodes, values)


def check(template: str, names: Iterable[str]) -> None:
    """Raise FormatError if ``template`` is malformed or uses a name not in ``names``.

    For ``ls -F`` with no sessions to expand: a bad template is still reported.
    """
    _check_names(_parse(template), names)
