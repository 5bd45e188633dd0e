"""Fuzz harness: the spec loader (``load_spec_bytes``) and the fast/faithful decode agreement.

Properties, for any bytes:

* ``load_spec_bytes(data, "fuzz.yaml")`` and ``(data, "fuzz.json")`` raise only
  :class:`cdikit.errors.CDIError` subclasses;
* when the fast decode path accepts ``data``, the reference-faithful path accepts
  it too and decodes the very same ``Spec`` (the fast path is only a shortcut).

Run: ``python -m tests.fuzz.fuzz_loader WORKDIR tests/fuzz/corpus/loader -max_total_time=240``.
"""

from __future__ import annotations

from cdikit.errors import CDIError, ParseError
from cdikit.spec.decode import _faithful, _fast
from cdikit.specfile import load_spec_bytes
from tests.fuzz._common import KnownBug, only, run_atheris

# Bugs these harnesses found are fixed and pinned in test_regressions.py; none is
# tolerated any more.
KNOWN: tuple[KnownBug, ...] = ()


def one_input(data: bytes) -> None:
    for path in ("fuzz.yaml", "fuzz.json"):
        with only(CDIError, data, KNOWN):
            load_spec_bytes(data, path)
    with only(CDIError, data, KNOWN):
        fast = _fast(data)
        if fast is None:
            return
        try:
            faithful = _faithful(data, None)
        except ParseError as err:
            raise AssertionError(
                f"fast path accepted what the faithful path rejects ({err}): {data[:300]!r}"
            ) from err
        assert fast == faithful, f"fast {fast!r} != faithful {faithful!r} for {data[:300]!r}"


if __name__ == "__main__":
    run_atheris(one_input)
