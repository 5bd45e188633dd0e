"""Fuzz harness: the qualified-name grammar (``cdikit.names``).

Properties, for any string: the parsers and validators raise only
:class:`InvalidNameError`; ``parse_device``/``parse_qualifier``/``is_qualified_name``
raise nothing; ``is_qualified_name`` agrees with ``parse_qualified_name``, and a
parsed name joins back to itself.

Run: ``python -m tests.fuzz.fuzz_names WORKDIR tests/fuzz/corpus/names -max_total_time=60``.
"""

from __future__ import annotations

from cdikit.errors import InvalidNameError
from cdikit.names import (
    is_qualified_name,
    parse_device,
    parse_qualified_name,
    parse_qualifier,
    qualified_name,
    validate_class_name,
    validate_device_name,
    validate_vendor_name,
)
from tests.fuzz._common import only, run_atheris


def one_input(data: bytes) -> None:
    # surrogateescape: invalid UTF-8 becomes lone surrogates, which a Python str can hold.
    text = data.decode("utf-8", "surrogateescape")
    with only((), data):
        vendor, cls, name = parse_device(text)
        assert qualified_name(vendor, cls, name) == text or (vendor, cls) == ("", ""), text
        parse_qualifier(text)
        valid = is_qualified_name(text)
    try:
        parts = parse_qualified_name(text)
    except InvalidNameError:
        assert not valid, f"is_qualified_name({text!r}) but parse_qualified_name rejects it"
    except Exception as exc:
        raise AssertionError(f"{type(exc).__name__} escaped parse_qualified_name({text!r})") from exc
    else:
        assert valid, f"parse_qualified_name({text!r}) accepts but is_qualified_name says no"
        assert qualified_name(*parts) == text
    for validate in (validate_vendor_name, validate_class_name, validate_device_name):
        with only(InvalidNameError, data):
            validate(text)


if __name__ == "__main__":
    run_atheris(one_input)
