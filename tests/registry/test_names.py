"""Spec file naming helpers (texts and rules of the reference)."""

from __future__ import annotations

import pytest

from cdikit.errors import CDIError
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
        ("/etc/cdi/", "sub/../x.json", "/etc/cdi/x.json"),
        ("dirs/1", "sub/x.json", "dirs/1/sub/x.json"),
    ],
)
def test_spec_file_path(directory: str, name: str, expected: str) -> None:
    assert spec_file_path(directory, name) == expected


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
