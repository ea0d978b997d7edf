"""``NamedTuple`` for run time without importing ``typing``, built faster than
``collections.namedtuple``.

Every ptymux command defines its messages and settings as NamedTuples at import (~55
classes). ``typing`` costs ~3 ms to import and ``typing.NamedTuple`` about twice what
``collections.namedtuple`` does per class, which itself compiles each class's ``__new__``
from source (``eval``: most of its ~40 us a class). Modules write ``class X(NamedTuple)`` as
usual; type checkers see ``typing.NamedTuple`` (under ``TYPE_CHECKING``), and at run time
this base builds the same kind of class as ``collections.namedtuple`` (a tuple subclass
with the same attributes and methods; fields from the annotations, trailing defaults,
methods and docstring kept) with one shared ``__new__`` instead of a compiled one: ~7x
faster to build, ~2 ms of every ``ls``. Positional construction is as fast; keyword
construction takes ~1 us more (tests/test_units.py compares the two kinds of class).
"""

from __future__ import annotations

import collections
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

_tuplegetter: Any = getattr(collections, "_tuplegetter")  # noqa: B009 (namedtuple's own field
#                                                            descriptor; no stub names it)
_OWN = frozenset(("__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__"))
_MISSING: Any = object()


def record_class(name: str, fields: list[str], defaults: list[Any], module: str | None
                 ) -> type:
    """A tuple subclass like ``collections.namedtuple(name, fields, defaults=defaults,
    module=module)``: what the field names are was checked by Python's class syntax."""
    names = tuple(map(sys.intern, fields))
    count = len(names)
    index = {field: i for i, field in enumerate(names)}
    first_default = count - len(defaults)
    start = (_MISSING,) * first_default + tuple(defaults)
    tuple_new = tuple.__new__

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == count:
            return tuple_new(cls, args)
        given = len(args)
        if given > count:
            raise TypeError(f"{name}() takes {count} arguments but {given} were given")
        values = [*args, *start[given:]]
        for key, value in kwargs.items():
            i = index.get(key)
            if i is None:
                raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
            if i < given:
                raise TypeError(f"{name}() got multiple values for argument {key!r}")
            values[i] = value
        missing = [names[i] for i in range(given, first_default) if values[i] is _MISSING]
        if missing:
            raise TypeError(f"{name}() missing required arguments: {', '.join(missing)}")
        return tuple_new(cls, values)

    def _make(cls: type, iterable: Iterable[Any]) -> Any:
        result: tuple[Any, ...] = tuple_new(cls, iterable)
        if len(result) != count:
            raise TypeError(f"Expected {count} arguments, got {len(result)}")
        return result

    def _replace(self: Any, /, **kwds: Any) -> Any:
        result = self._make(map(kwds.pop, names, self))
        if kwds:
            raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
        return result

    shape = "(" + ", ".join(f"{field}=%r" for field in names) + ")"

    def __repr__(self: Any) -> str:
        return str(self.__class__.__name__ + shape % self)

    def _asdict(self: Any) -> dict[str, Any]:
        return dict(zip(names, self, strict=True))

    def __getnewargs__(self: Any) -> tuple[Any, ...]:
        return tuple(self)

    field_defaults = dict(zip(names[first_default:], defaults, strict=True))
    namespace: dict[str, Any] = {
        "__doc__": f"{name}({', '.join(names)})", "__slots__": (), "__module__": module,
        "_fields": names, "_field_defaults": field_defaults,
        "__new__": __new__, "_make": classmethod(_make), "_replace": _replace,
        "__repr__": __repr__, "_asdict": _asdict, "__getnewargs__": __getnewargs__,
        "__match_args__": names,
    }
    for i, field in enumerate(names):
        namespace[field] = _tuplegetter(i, f"Alias for field number {i}")
    return type(name, (tuple,), namespace)


class _Maker(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcls, name, bases, ns)
        fields = list(ns.get("__annotations__", {}))
        defaults = [ns[f] for f in fields if f in ns]
        cls = record_class(name, fields, defaults, ns.get("__module__"))
        for key, value in ns.items():
            if key not in _OWN and key not in fields:
                setattr(cls, key, value)
        return cls


class NamedTuple(metaclass=_Maker):
    """Subclass it like ``typing.NamedTuple``; the subclass is a ``collections.namedtuple``."""
