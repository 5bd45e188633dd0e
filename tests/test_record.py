"""``cdikit._record.record`` behaves as the ``dataclasses.dataclass`` features it replaces."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit._record import field, record


@record()
class Rec:
    a: int
    b: str = "x"
    c: list[int] = field(default_factory=list)


@dataclasses.dataclass
class Dat:
    a: int
    b: str = "x"
    c: list[int] = dataclasses.field(default_factory=list)


@record(frozen=True)
class Frozen:
    a: int
    b: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class DatFrozen:
    a: int
    b: tuple[int, ...] = ()


_CALLS = st.one_of(
    st.tuples(st.integers()).map(lambda t: (t, {})),
    st.tuples(st.integers(), st.text(max_size=3)).map(lambda t: (t, {})),
    st.tuples(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)).map(lambda t: (t, {})),
    st.fixed_dictionaries(
        {"a": st.integers()}, optional={"b": st.text(max_size=3), "c": st.lists(st.integers())}
    ).map(lambda d: ((), d)),
    st.just(((), {})),  # missing a
    st.just(((1,), {"a": 2})),  # a twice
    st.just(((1,), {"d": 2})),  # unknown
    st.just(((1, "b", [], 4), {})),  # too many
)


@given(_CALLS, _CALLS)
def test_like_a_dataclass(
    first: tuple[tuple[object, ...], dict[str, object]], second: tuple[tuple[object, ...], dict[str, object]]
) -> None:
    made = []
    for args, kwargs in (first, second):
        try:
            expected = Dat(*args, **kwargs)  # type: ignore[arg-type]
        except TypeError:
            with pytest.raises(TypeError):
                Rec(*args, **kwargs)  # type: ignore[arg-type]
            return
        got = Rec(*args, **kwargs)  # type: ignore[arg-type]
        assert (got.a, got.b, got.c) == (expected.a, expected.b, expected.c)
        assert repr(got) == repr(expected).replace("Dat(", "Rec(")
        made.append((got, expected))
    (r1, d1), (r2, d2) = made
    assert (r1 == r2) is (d1 == d2)
    assert r1.c is not r2.c or r1.c == []  # a fresh default list per instance
    assert Rec(1) != Dat(1)
    with pytest.raises(TypeError):
        hash(r1)


@given(st.integers(), st.lists(st.integers(), max_size=3).map(tuple))
def test_frozen_like_a_frozen_dataclass(a: int, b: tuple[int, ...]) -> None:
    got, expected = Frozen(a, b), DatFrozen(a, b)
    assert hash(got) == hash(Frozen(a=a, b=b)) and got == Frozen(a=a, b=b)
    assert repr(got) == repr(expected).replace("DatFrozen(", "Frozen(")
    with pytest.raises(AttributeError):
        got.a = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del got.a  # type: ignore[misc]
    assert {got: 1}[Frozen(a, b)] == 1
