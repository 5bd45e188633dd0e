"""Table and property tests for the qualified-name grammar (cdikit.names)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

VALID = [
    ("vendor.com/class=dev", ("vendor.com", "class", "dev")),
    ("nvidia.com/gpu=all", ("nvidia.com", "gpu", "all")),
    ("ab/cd=e", ("ab", "cd", "e")),
    ("Vendor_1/class-2=0:1.2_3", ("Vendor_1", "class-2", "0:1.2_3")),
    ("v1/c2=d", ("v1", "c2", "d")),
    ("x" * 300 + "/yy=" + "z" * 300, ("x" * 300, "yy", "z" * 300)),
]


@pytest.mark.parametrize(("text", "parts"), VALID)
def test_valid_names_parse_and_round_trip(text: str, parts: tuple[str, str, str]) -> None:
    assert parse_qualified_name(text) == parts
    assert is_qualified_name(text)
    assert qualified_name(*parts) == text


INVALID = [
    ("", 'unqualified device "", missing vendor'),
    ("/dev/null", 'unqualified device "/dev/null", missing vendor'),
    ("vendor/class", 'unqualified device "vendor/class", missing vendor'),
    ("vendor/=dev", 'unqualified device "vendor/=dev", missing vendor'),
    ("vendor/class=", 'unqualified device "vendor/class=", missing vendor'),
    (
        "1vendor/class=dev",
        'invalid device "1vendor/class=dev": invalid vendor. "1vendor", should start with letter',
    ),
    (
        "vendor-/class=dev",
        'invalid device "vendor-/class=dev": invalid vendor. "vendor-", should end with a letter or digit',
    ),
    (
        "ven@dor/class=dev",
        'invalid device "ven@dor/class=dev": invalid vendor. invalid character \'@\' in name "ven@dor"',
    ),
    (
        "vendor/cl/ass=dev",
        'invalid device "vendor/cl/ass=dev": invalid class. invalid character \'/\' in name "cl/ass"',
    ),
    (
        "vendor/class=de=v",
        'invalid device "vendor/class=de=v": invalid character \'=\' in device name "de=v"',
    ),
    (
        "vendor/class=_dev",
        'invalid device "vendor/class=_dev": invalid class "_dev", should start with a letter or digit',
    ),
    (
        "vendor/class=dev:",
        'invalid device "vendor/class=dev:": invalid name "dev:", should end with a letter or digit',
    ),
    # Go checks the last byte of a multi-byte rune in the middle loop: U+FFFD.
    (
        "vendorë/class=dev",
        'invalid device "vendorë/class=dev": invalid vendor. invalid character \'\ufffd\' in name "vendorë"',
    ),
    (
        "vendor/class=de\nv",
        'invalid device "vendor/class=de\\nv": invalid character \'\n\' in device name "de\\nv"',
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_names_carry_the_go_message(text: str, message: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_qualified_name(text)
    assert str(info.value) == message
    assert not info.value.go_panics
    assert not is_qualified_name(text)


@pytest.mark.parametrize("text", ["a/class=dev", "vendor/b=dev", "a/b=c", "z/z=z"])
def test_one_character_vendor_or_class_is_rejected_where_go_panics(text: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_qualified_name(text)
    assert info.value.go_panics
    assert "crash Go CDI consumers" in str(info.value)
    assert not is_qualified_name(text)


@pytest.mark.parametrize(
    ("validate", "name", "message", "panics"),
    [
        (validate_vendor_name, "", "invalid vendor. empty name", False),
        (validate_vendor_name, "a", None, True),
        (validate_vendor_name, "1", 'invalid vendor. "1", should start with letter', False),
        (validate_vendor_name, "ab", None, False),
        (validate_class_name, "x", None, True),
        (validate_class_name, "-", 'invalid class. "-", should start with letter', False),
        (validate_class_name, "g.", 'invalid class. "g.", should end with a letter or digit', False),
        (validate_device_name, "", "invalid (empty) device name", False),
        (validate_device_name, "a", None, False),
        (validate_device_name, "0", None, False),
        (validate_device_name, "a b", "invalid character ' ' in device name \"a b\"", False),
        (validate_device_name, "ü", 'invalid class "ü", should start with a letter or digit', False),
    ],
)
def test_validators(validate: object, name: str, message: str | None, panics: bool) -> None:
    assert callable(validate)
    if message is None and not panics:
        validate(name)
        return
    with pytest.raises(InvalidNameError) as info:
        validate(name)
    assert info.value.go_panics is panics
    if message is not None:
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "device", "qualifier"),
    [
        ("vendor/class=dev", ("vendor", "class", "dev"), ("vendor", "class=dev")),
        ("/class=dev", ("", "", "/class=dev"), ("", "/class=dev")),
        ("vendor/=dev", ("", "", "vendor/=dev"), ("vendor", "=dev")),
        ("v/c/x=d=e", ("v", "c/x", "d=e"), ("v", "c/x=d=e")),
        ("=x", ("", "", "=x"), ("", "=x")),
        ("kind/only", ("", "", "kind/only"), ("kind", "only")),
    ],
)
def test_lenient_splitters(text: str, device: tuple[str, str, str], qualifier: tuple[str, str]) -> None:
    assert parse_device(text) == device
    assert parse_qualifier(text) == qualifier


_VC = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,20}[A-Za-z0-9]", fullmatch=True)
_DEV = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9_.:\-]{0,20}[A-Za-z0-9])?", fullmatch=True)


@given(_VC, _VC, _DEV)
def test_property_valid_names_round_trip(vendor: str, cls: str, name: str) -> None:
    text = qualified_name(vendor, cls, name)
    assert parse_qualified_name(text) == (vendor, cls, name)
    assert qualified_name(*parse_qualified_name(text)) == text
    assert parse_device(text) == (vendor, cls, name)
    assert is_qualified_name(text)


@given(st.text())
def test_property_arbitrary_text_only_raises_invalid_name_error(text: str) -> None:
    try:
        parts = parse_qualified_name(text)
    except InvalidNameError as err:
        assert not is_qualified_name(text)
        assert str(err)
    else:
        assert is_qualified_name(text)
        assert qualified_name(*parts) == text
    for validate in (validate_vendor_name, validate_class_name, validate_device_name):
        try:
            validate(text)
        except InvalidNameError:
            pass


@given(st.text(alphabet=st.sampled_from("ab1/=.-_:é\x00 "), max_size=12))
def test_property_strict_parse_agrees_with_lenient_split(text: str) -> None:
    # The strict parser accepts exactly the splits whose three parts validate.
    vendor, cls, name = parse_device(text)
    parts_valid = True
    try:
        validate_vendor_name(vendor)
        validate_class_name(cls)
        validate_device_name(name)
    except InvalidNameError:
        parts_valid = False
    assert is_qualified_name(text) == (bool(vendor) and parts_valid)


_GO_QUALIFIED = r"([A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9])/([A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9])=([A-Za-z0-9](?:[A-Za-z0-9_.:\-]*[A-Za-z0-9])?)"


@settings(max_examples=3000)
@given(st.text(alphabet=st.sampled_from("aZ09_.:-/=é \n\x00"), max_size=12))
def test_fast_path_is_the_go_grammar(device: str) -> None:
    """The regex-free fast path accepts exactly what Go's grammar (as one regex) accepts."""
    import re

    m = re.fullmatch(_GO_QUALIFIED, device)
    assert is_qualified_name(device) == (m is not None)
    if m is not None:
        assert parse_qualified_name(device) == m.groups()
