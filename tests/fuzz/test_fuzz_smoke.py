"""The fuzz harnesses, run without atheris: the corpus plus seeded mutations, and hypothesis bytes.

Deterministic (fixed seeds, derandomized hypothesis) and quick, so CI exercises
every harness on every run; the long coverage-guided runs are in docs/fuzzing.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz._common import Data, corpus, mutate, only, run_mutations

HARNESSES = {
    "loader": ("fuzz_loader", 3000),
    "names": ("fuzz_names", 3000),
    "requests": ("fuzz_requests", 3000),
    "argv": ("fuzz_argv", 3000),
    "annotations": ("fuzz_annotations", 3000),
    "oci": ("fuzz_oci", 3000),
    "elf": ("fuzz_elf", 3000),
    "rawjson": ("fuzz_rawjson", 3000),
}


def _harness(name: str) -> Callable[[bytes], None]:
    module = importlib.import_module(f"tests.fuzz.{HARNESSES[name][0]}")
    fn: Callable[[bytes], None] = module.one_input
    return fn


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_corpus_and_mutations(name: str) -> None:
    tried = run_mutations(_harness(name), name, HARNESSES[name][1], seed=20240611)
    assert tried == len(corpus(name)) + HARNESSES[name][1]


@pytest.mark.parametrize("name", sorted(HARNESSES))
@settings(max_examples=300, derandomize=True, database=None)
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _harness(name)(data)


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_corpus_is_present(name: str) -> None:
    assert len(corpus(name)) >= 5


def test_only_rejects_foreign_exception_types() -> None:
    # The check itself must be able to fail, else every harness passes vacuously.
    with pytest.raises(AssertionError, match="KeyError escaped"), only(ValueError, b"x"):
        raise KeyError("boom")
    with only(ValueError, b"x"):
        raise ValueError("allowed")


def test_known_bug_tolerance_is_by_signature() -> None:
    with only((), b"x", known=(("TypeError", "unhashable"),)):
        raise TypeError("unhashable type: 'dict'")
    with pytest.raises(AssertionError), only((), b"x", known=(("TypeError", "unhashable"),)):
        raise TypeError("something else")


@pytest.mark.parametrize(
    ("buf", "expected"),
    [(b"", [0, 0, False]), (b"\x07\x03\x01", [2, 1, True])],
)
def test_data_provider(buf: bytes, expected: list[object]) -> None:
    d = Data(buf)
    assert [d.below(5), d.below(2), d.flag()] == expected


def test_mutations_are_deterministic() -> None:
    import random

    seeds = corpus("loader")
    first = [mutate(random.Random(1), seeds[0], seeds) for _ in range(3)]
    again = [mutate(random.Random(1), seeds[0], seeds) for _ in range(3)]
    assert first == again
