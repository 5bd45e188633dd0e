"""Entries of a spec directory that are not spec files must never hang, exhaust or hide anything.

The reference reads whatever a ``*.json``/``*.yaml`` name points to: a FIFO blocks every
consumer forever, a link to ``/dev/zero`` exhausts its memory. cdikit opens without
blocking, reads only regular files up to ``MAX_SPEC_FILE_BYTES``, and turns every failure,
a decoder bug included, into that one file's error (issue 13). Real FIFOs and device links.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from cdikit import specfile
from cdikit.errors import CDIError, RegistryError
from cdikit.lint import lint_spec_dirs
from cdikit.registry import Registry
from tests.registry.conftest import spec_json, write

GOOD = "vendor.com/gpu=good"


def _bounded(fn: Callable[[], object], seconds: float = 30.0) -> object:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it does not finish."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # re-raised below, in the test's thread
            box["error"] = err

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s (blocked on a FIFO or an endless file?)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def _hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cdi"
    write(d / "good.json", spec_json("vendor.com/gpu", ["good"]))
    os.mkfifo(d / "fifo.json")
    (d / "zero.yaml").symlink_to("/dev/zero")
    (d / "null.yaml").symlink_to("/dev/null")
    return d


def _refresh(d: Path) -> Registry:
    registry = Registry([str(d)], auto_refresh=False)
    try:
        registry.refresh()
    except RegistryError:
        pass
    return registry


@pytest.mark.parametrize(
    ("name", "why"),
    [("fifo.json", "not a regular file"), ("zero.yaml", "not a regular file"), ("null.yaml", "not a regular file")],
)
def test_non_regular_entries_are_their_own_errors(tmp_path: Path, name: str, why: str) -> None:
    d = _hostile_dir(tmp_path)
    registry = _bounded(lambda: _refresh(d))
    assert isinstance(registry, Registry)
    assert registry.list_devices() == [GOOD]
    errors = registry.get_errors()
    path = str(d / name)
    assert why in " ".join(errors[path]), errors
    assert set(errors) == {str(d / "fifo.json"), str(d / "zero.yaml"), str(d / "null.yaml")}


def test_read_spec_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    with pytest.raises(CDIError, match=r'failed to read CDI Spec ".*x.json": read .*x.json: not a regular file'):
        _bounded(lambda: specfile.read_spec(str(fifo)))


def test_a_directory_keeps_the_reference_wording(tmp_path: Path) -> None:
    d = tmp_path / "d.json"
    d.mkdir()
    with pytest.raises(CDIError, match=r"read .*d.json: is a directory"):
        specfile.read_spec(str(d))


def test_an_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(specfile, "MAX_SPEC_FILE_BYTES", 4096)
    big = write(tmp_path / "big.json", spec_json("vendor.com/gpu", ["a"], env="A=" + "x" * 5000))
    with pytest.raises(CDIError, match="file too large"):
        specfile.read_spec(str(big))
    exact = write(tmp_path / "ok.json", spec_json("vendor.com/gpu", ["a"]).ljust(4096))
    assert specfile.read_spec(str(exact)).vendor == "vendor.com"


def test_a_decoder_bug_stays_one_files_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever escapes the decoder (here a ValueError, as a 4,301-digit integer once raised)."""
    from cdikit.spec import decode

    real = decode.parse_spec

    def buggy(data: bytes, *, path: str | None = None) -> object:
        if b"BOOM" in data:
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return real(data, path=path)

    monkeypatch.setattr(decode, "parse_spec", buggy)
    d = tmp_path / "cdi"
    write(d / "good.json", spec_json("vendor.com/gpu", ["good"]))
    write(d / "bad.yaml", "kind: BOOM\n")
    registry = _refresh(d)
    assert registry.list_devices() == [GOOD]
    (message,) = registry.get_errors()[str(d / "bad.yaml")]
    assert "internal error: ValueError: Exceeds the limit" in message


def test_lint_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    d = _hostile_dir(tmp_path)
    findings = _bounded(lambda: lint_spec_dirs([str(d)]))
    assert isinstance(findings, list)
    assert any(str(d / "fifo.json") in str(f) for f in findings)
