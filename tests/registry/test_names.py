"""Spec file naming helpers (texts and rules of the reference)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.errors import CDIError, InvalidSpecNameError, WriteError
from cdikit.registry import (
    generate_name_for_spec,
    generate_name_for_transient_spec,
    generate_spec_name,
    generate_transient_spec_name,
    spec_file_path,
)
from cdikit.spec import Spec


@pytest.mark.parametrize(
    ("directory", "name", "expected"),
    [
        ("/etc/cdi", "x.json", "/etc/cdi/x.json"),
        ("/etc/cdi", "x.yaml", "/etc/cdi/x.yaml"),
        ("/etc/cdi", "x", "/etc/cdi/x.yaml"),
        ("/etc/cdi", "x.yml", "/etc/cdi/x.yml.yaml"),
        ("/etc/cdi", "x.JSON", "/etc/cdi/x.JSON.yaml"),
        ("/etc/cdi/", "x.json", "/etc/cdi/x.json"),
        ("dirs/1", "..x.json", "dirs/1/..x.json"),
        ("dirs/1", "...", "dirs/1/....yaml"),
        ("dirs/1", ".hidden", "dirs/1/.hidden.yaml"),
    ],
)
def test_spec_file_path(directory: str, name: str, expected: str) -> None:
    assert spec_file_path(directory, name) == expected


# The reference joins these to the directory unchecked: outside it, or where no scanner looks.
BAD_NAMES = ["", ".", "..", "../x", "../../etc/cdi/x.json", "sub/x.json", "sub/../x.json", "/abs.json", "x/",
             "a\0b", "\0", "x.json\0.yaml"]  # fmt: skip


@pytest.mark.parametrize("name", BAD_NAMES)
def test_spec_names_that_leave_the_directory_are_refused(name: str) -> None:
    with pytest.raises(InvalidSpecNameError, match="invalid Spec file name") as info:
        spec_file_path("/etc/cdi", name)
    assert isinstance(info.value, WriteError) and info.value.field == "name"


@given(st.text(max_size=40))
def test_a_valid_name_stays_in_the_directory(name: str) -> None:
    try:
        path = spec_file_path("/etc/cdi", name)
    except InvalidSpecNameError:
        assert name in ("", ".", "..") or "/" in name or "\0" in name
        return
    assert os.path.dirname(path) == "/etc/cdi"
    assert os.path.basename(path) in (name, name + ".yaml")


@pytest.mark.parametrize(
    ("vendor", "cls", "transient", "expected"),
    [
        ("vendor.com", "gpu", None, "vendor.com-gpu"),
        ("", "", None, "-"),
        ("vendor.com", "gpu", "abc", "vendor.com-gpu_abc"),
        ("vendor.com", "gpu", "pod/ns/uid", "vendor.com-gpu_pod_ns_uid"),
        ("", "", "", "-_"),
    ],
)
def test_generate_names(vendor: str, cls: str, transient: str | None, expected: str) -> None:
    if transient is None:
        assert generate_spec_name(vendor, cls) == expected
    else:
        assert generate_transient_spec_name(vendor, cls, transient) == expected


@pytest.mark.parametrize(
    ("kind", "transient", "expected", "error"),
    [
        ("vendor.com/device", None, "vendor.com-device", None),
        ("vendor.com/device", "ctr/1", "vendor.com-device_ctr_1", None),
        ("a/b=c", None, "a-b=c", None),
        ("novendor", None, None, 'invalid vendor/class "novendor" in Spec'),
        ("/class", "x", None, 'invalid vendor/class "/class" in Spec'),
    ],
)
def test_generate_name_for_spec(
    kind: str, transient: str | None, expected: str | None, error: str | None
) -> None:
    spec = Spec(cdi_version="0.3.0", kind=kind)
    if error is not None:
        with pytest.raises(CDIError) as info:
            if transient is None:
                generate_name_for_spec(spec)
            else:
                generate_name_for_transient_spec(spec, transient)
        assert str(info.value) == error
        return
    got = (
        generate_name_for_spec(spec)
        if transient is None
        else generate_name_for_transient_spec(spec, transient)
    )
    assert got == expected
