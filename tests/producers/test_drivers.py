"""The cheap driver checks every `cdi devices` runs (cdikit.producers._drivers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.producers._drivers import is_pci_address, pci_bound

_PCI = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0000:03:00.0", True),
        ("abcd:ef:01.7", True),
        ("0000:03:00.0\n", False),
        ("0000:03:00", False),
        ("0000:03:00.00", False),
        ("0000:03:0G.0", False),
        ("0000:03:00-0", False),
        ("0000.03:00.0", False),
        ("ABCD:EF:01.7", False),  # sysfs spells them in lowercase
        ("", False),
        ("module", False),
        ("new_id", False),
    ],
)
def test_pci_addresses(name: str, expected: bool) -> None:
    assert is_pci_address(name) is expected


@given(st.text(alphabet="0123456789abcdefABG:.-\n", max_size=14))
def test_pci_address_is_the_plain_pattern(name: str) -> None:
    assert is_pci_address(name) is (_PCI.fullmatch(name) is not None)


def test_pci_bound_needs_a_bound_function(tmp_path: Path) -> None:
    driver = tmp_path / "sys/bus/pci/drivers/i915"
    driver.mkdir(parents=True)
    (driver / "bind").write_text("")
    (driver / "module").mkdir()
    assert not pci_bound(str(tmp_path), ("i915", "xe"))
    (driver / "0000:00:02.0").mkdir()
    assert pci_bound(str(tmp_path), ("i915", "xe"))
    assert not pci_bound(str(tmp_path), ("xe",))
