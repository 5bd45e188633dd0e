"""ResourceSlice device names, the inventory filter, and klog-formatted logs."""

from __future__ import annotations

import io
import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.kube._inventory import Inventory, dra_device_name, dra_device_names
from cdikit.integrations.kube._klog import KlogFormatter, setup_logging

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@pytest.mark.parametrize(
    ("qualified", "expected"),
    [
        ("vendor.com/gpu=0", "gpu-0"),
        ("vendor.com/gpu=all", "gpu-all"),
        ("nvidia.com/mig=gpu0-mig1", "mig-gpu0-mig1"),
    ],
)
def test_plain_names_are_kept(qualified: str, expected: str) -> None:
    assert dra_device_name(qualified) == expected


@pytest.mark.parametrize(
    ("qualified", "prefix"),
    [
        ("vendor.com/gpu=GPU-1", "gpu-gpu-1-"),
        ("vendor.com/gpu=a_b", "gpu-a-b-"),
        ("vendor.com/gpu=0:1", "gpu-0-1-"),
        ("vendor.com/gpu=" + "x" * 80, "gpu-xxx"),
    ],
)
def test_lossy_names_get_a_hash(qualified: str, prefix: str) -> None:
    name = dra_device_name(qualified)
    assert name.startswith(prefix)
    assert _DNS_LABEL.fullmatch(name)
    assert re.search(r"-[0-9a-f]{8}$", name)


def test_same_class_of_two_vendors_does_not_clash() -> None:
    names = dra_device_names(Inventory({"a.com/gpu": ("0",), "b.com/gpu": ("0", "1")}))
    assert sorted(names.values()) == ["a.com/gpu=0", "b.com/gpu=0", "b.com/gpu=1"]
    assert names["gpu-1"] == "b.com/gpu=1"


_device_names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.:-]{0,70}[A-Za-z0-9])?", fullmatch=True)


@given(
    st.lists(_device_names, min_size=1, max_size=8, unique=True), st.sampled_from(["gpu", "fpga_x", "n-1"])
)
def test_dra_names_are_unique_dns_labels(names: list[str], cls: str) -> None:
    inventory = Inventory({f"vendor.com/{cls}": tuple(sorted(names)), f"other.io/{cls}": ("0",)})
    mapping = dra_device_names(inventory)
    assert len(mapping) == len(names) + 1
    for label in mapping:
        assert _DNS_LABEL.fullmatch(label), label


def test_klog_line_format() -> None:
    stream = io.StringIO()
    setup_logging(0, stream)
    try:
        logging.getLogger("cdikit.kube.test").info("registered %s", "vendor.com/gpu")
        logging.getLogger("cdikit.kube.test").warning("careful")
        logging.getLogger("cdikit.kube.test").debug("hidden without -v")
    finally:
        logging.getLogger("cdikit").handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"I\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ test_naming_and_logs\.py:\d+\] registered vendor\.com/gpu",
        lines[0],
    )
    assert lines[1].startswith("W")


def test_klog_formatter_severities() -> None:
    fmt = KlogFormatter()
    letters = []
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        record = logging.LogRecord("x", level, "/a/b/file.py", 7, "m", None, None)
        letters.append(fmt.format(record)[0])
    assert letters == ["I", "I", "W", "E", "F"]
