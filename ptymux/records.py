"""``NamedTuple`` for run time without importing ``typing``.

Every ptymux command defines its messages and settings as NamedTuples at import. ``typing``
costs ~3 ms to import and ``typing.NamedTuple`` about twice what ``collections.namedtuple``
does per class: together ~5 ms of every ``ls``, ``capture`` and ``attach``. Modules write
``class X(NamedTuple)`` as usual; type checkers see ``typing.NamedTuple`` (under
``TYPE_CHECKING``), and at run time this base builds the same ``collections.namedtuple``
(fields from the annotations, trailing defaults, methods and docstring kept).
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_namedtuple: Any = collections.namedtuple  # (a call mypy does not try to read as a class)
_OWN = frozenset(("__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__"))


class _Maker(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcls, name, bases, ns)
        fields = list(ns.get("__annotations__", {}))
        defaults = [ns[f] for f in fields if f in ns]
        cls: type = _namedtuple(name, fields, defaults=defaults, module=ns.get("__module__"))
        for key, value in ns.items():
            if key not in _OWN and key not in fields:
                setattr(cls, key, value)
        return cls


class NamedTuple(metaclass=_Maker):
    """Subclass it like ``typing.NamedTuple``; the subclass is a ``collections.namedtuple``."""
