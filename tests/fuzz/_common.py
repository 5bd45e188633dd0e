"""Shared plumbing of the fuzz harnesses: a byte-driven input builder, the error check, the runners.

Every harness is one function ``one_input(data: bytes) -> None`` that raises
``AssertionError`` when a parser lets through an exception type it must not,
and returns quietly otherwise. The same function runs under atheris
(coverage-guided, ``python -m tests.fuzz.fuzz_<name> ...``, see docs/fuzzing.md)
and under pytest without atheris (``test_fuzz_smoke.py`` feeds it seeded
mutations of the corpus), so CI exercises exactly what the fuzzer does.

Known, already-reported bugs are tolerated (counted, not raised) unless
``CDIKIT_FUZZ_STRICT=1`` is set: the fuzzer then keeps looking for new ones,
and each known bug has a strict-xfail regression test in ``test_regressions.py``
that turns red the day it is fixed (remove its tolerance entry then).
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
STRICT = os.environ.get("CDIKIT_FUZZ_STRICT") == "1"

#: Signature of a tolerated known bug: (exception type name, substring of its message).
KnownBug = tuple[str, str]


class Data:
    """Turns fuzzer bytes into structured choices (a tiny atheris.FuzzedDataProvider).

    Past the end of the bytes every choice is 0, so short inputs give small, plain
    values and any input is valid.
    """

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf: bytes) -> None:
        self._buf = buf
        self._pos = 0

    def byte(self) -> int:
        if self._pos >= len(self._buf):
            return 0
        value = self._buf[self._pos]
        self._pos += 1
        return value

    def below(self, n: int) -> int:
        """An int in ``range(n)`` (n <= 65536)."""
        if n <= 1:
            return 0
        value = self.byte() if n <= 256 else self.byte() << 8 | self.byte()
        return value % n

    def flag(self) -> bool:
        return self.byte() & 1 == 1

    def choice(self, options: Sequence[object]) -> object:
        return options[self.below(len(options))]

    def text(self, max_len: int = 16, alphabet: Sequence[str] | None = None) -> str:
        """A short string: from ``alphabet`` when given, else raw UTF-8 (lone surrogates allowed)."""
        n = self.below(max_len + 1)
        if alphabet is not None:
            return "".join(alphabet[self.below(len(alphabet))] for _ in range(n))
        raw = self.take(n)
        return raw.decode("utf-8", "surrogateescape")

    def take(self, n: int) -> bytes:
        chunk = self._buf[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        chunk = self._buf[self._pos :]
        self._pos = len(self._buf)
        return chunk


@contextmanager
def only(
    allowed: type[BaseException] | tuple[type[BaseException], ...],
    data: bytes,
    known: Sequence[KnownBug] = (),
) -> Iterator[None]:
    """Let ``allowed`` exceptions (and, unless strict, ``known`` bugs) pass; fail on anything else."""
    try:
        yield
    except allowed:
        pass
    except Exception as exc:  # the point: no other type may escape
        if not STRICT and any(type(exc).__name__ == name and text in str(exc) for name, text in known):
            return
        raise AssertionError(
            f"{type(exc).__module__}.{type(exc).__name__} escaped ({exc}) for input {data[:300]!r}"
        ) from exc


# -- corpus and mutations (the no-atheris runner) ---------------------------

_TOKENS = (
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b'"',
    b"'",
    b"\n",
    b"\n  ",
    b"- ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!!int ",
    b"<<: ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"#",
    b"\t",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xc2\x85",
    b"null",
    b"~",
    b"yes",
    b"off",
    b"0o17",
    b"0x1F",
    b"017",
    b"1_000",
    b"0b101",
    b"1e3",
    b".inf",
    b"-.nan",
    b"9223372036854775808",
    b"4294967296",
    b"-1",
    b"cdiVersion",
    b"CDIVERSION",
    b"kind",
    b"devices",
    b"containerEdits",
    b"deviceNodes",
    b"hostPath",
    b"fileMode",
    b"uid",
    b"gid",
    b"mounts",
    b"hooks",
    b"hookName",
    b"timeout",
    b"intelRdt",
    b"closID",
    b"netDevices",
    b"additionalGids",
    b"annotations",
    b"env",
    b"1.1.0",
    b"0.3.0",
    b"vendor.com/class",
    b"=",
    b"/",
)


def corpus(name: str) -> list[bytes]:
    """The seed inputs of one harness: every file under ``corpus/<name>``, one input per line for .txt/.jsonl."""
    seeds: list[bytes] = []
    for path in sorted((CORPUS / name).iterdir()):
        raw = path.read_bytes()
        if path.suffix in (".txt", ".jsonl"):
            seeds.extend(line for line in raw.split(b"\n") if line)
        else:
            seeds.append(raw)
    return seeds


def mutate(rng: random.Random, seed: bytes, seeds: Sequence[bytes]) -> bytes:
    """One to four libFuzzer-style mutations of ``seed`` (flip, insert, erase, token, splice, repeat)."""
    buf = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randint(0, len(buf))
        if op == 0 and buf:
            at = min(at, len(buf) - 1)
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[at:at] = bytes([rng.randrange(256)])
        elif op == 2 and buf:
            del buf[at : at + rng.randint(1, 16)]
        elif op in (3, 4):
            buf[at:at] = rng.choice(_TOKENS)
        elif op == 5:
            other = rng.choice(seeds)
            start = rng.randint(0, len(other))
            buf[at:at] = other[start : start + rng.randint(1, 64)]
        else:
            start = rng.randint(0, len(buf))
            chunk = bytes(buf[start : start + rng.randint(1, 8)])
            buf[at:at] = chunk * rng.randint(2, 8)
    return bytes(buf)


def run_mutations(one_input: Callable[[bytes], None], name: str, count: int, seed: int = 0) -> int:
    """Feed every seed, then ``count`` deterministic mutations, to ``one_input``; returns inputs tried."""
    seeds = corpus(name)
    rng = random.Random(seed)
    for data in seeds:
        one_input(data)
    for _ in range(count):
        one_input(mutate(rng, rng.choice(seeds), seeds))
    return len(seeds) + count


def run_atheris(one_input: Callable[[bytes], None]) -> None:
    """Coverage-guided run of ``one_input`` under atheris (libFuzzer flags come from ``sys.argv``)."""
    # Only the fuzz runs need atheris, never the test suite (it ships no type stubs).
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    # Instrument everything already imported (the harness imported cdikit, PyYAML, msgspec glue).
    atheris.instrument_all()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
