"""``@record``: the part of :func:`dataclasses.dataclass` that cdikit's start-up paths use.

``import dataclasses`` imports :mod:`inspect` (and with it ast, dis, tokenize):
about as long as the rest of ``cdi generate nvidia`` together. A record class
gets what a dataclass with ``eq=True`` would: an ``__init__`` taking the
annotated fields in order (positionally or by keyword, class-level defaults,
:func:`field` ``default_factory``), ``__repr__``, ``__eq__``, and with
``frozen=True`` immutability and ``__hash__``. Type checkers see a dataclass
(:pep:`681`). Only this class's own annotations are fields (no inheritance),
and a field default must not be a mutable list or dict (use :func:`field`). The field names, in order, are the class's
``__record_fields__``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the point of this module is start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
    C = TypeVar("C", bound=type)
else:

    def dataclass_transform(**_: object) -> Callable[[T], T]:
        return lambda f: f


__all__ = ["field", "record"]


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is made by ``default_factory`` for each instance."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r}")


@dataclass_transform(field_specifiers=(field,))
def record(*, frozen: bool = False) -> Callable[[C], C]:
    """Make ``cls`` a record (see the module docstring)."""

    def wrap(cls: C) -> C:
        names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 (inspect is what we avoid)
        defaults: dict[str, Any] = {}
        factories: dict[str, Callable[[], object]] = {}
        for name in names:
            if name not in cls.__dict__:
                continue
            value = cls.__dict__[name]
            if isinstance(value, _Factory):
                factories[name] = value.make
                delattr(cls, name)
            else:
                defaults[name] = value
        setter = object.__setattr__

        def __init__(self: Any, *args: object, **kwargs: object) -> None:
            if len(args) > len(names):
                raise TypeError(
                    f"{cls.__name__}() takes {len(names)} positional arguments, {len(args)} given"
                )
            values = dict(zip(names, args, strict=False))
            for key, value in kwargs.items():
                if key not in names:
                    raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
                if key in values:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
                values[key] = value
            for name in names:
                if name in values:
                    value = values[name]
                elif name in defaults:
                    value = defaults[name]
                elif name in factories:
                    value = factories[name]()
                else:
                    raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
                setter(self, name, value)

        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
            return f"{type(self).__qualname__}({inner})"

        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in names)

        cls.__record_fields__ = names  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[misc]
        cls.__repr__ = __repr__  # type: ignore[assignment]
        cls.__eq__ = __eq__  # type: ignore[assignment]
        if frozen:
            cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
            cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]

            def __hash__(self: Any) -> int:
                return hash(tuple(getattr(self, n) for n in names))

            cls.__hash__ = __hash__  # type: ignore[assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
        return cls

    return wrap
