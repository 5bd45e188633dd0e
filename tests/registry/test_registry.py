"""Registry verdicts: priorities, conflicts, errors per file, queries, edit order, incremental refresh."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cdikit.errors import ConflictError, InjectionError, RegistryError, UnresolvableDevicesError
from cdikit.registry import NilOCISpecError, Registry
from cdikit.specfile import MAX_SPEC_BYTES
from tests.registry.conftest import spec_json, write

K = "vendor.com/device"

# (files: {relative path: (kind, devices)}, spec_dirs) -> (resolvable devices with their source, error paths)
PRIORITY_CASES = [
    pytest.param(
        {"lo/a.json": (K, ["d0", "d1"]), "hi/a.json": (K, ["d0"])},
        ["lo", "hi"],
        {f"{K}=d0": "hi/a.json", f"{K}=d1": "lo/a.json"},
        set(),
        id="later-dir-wins",
    ),
    pytest.param(
        {"lo/a.json": (K, ["d0", "d1"]), "hi/a.json": (K, ["d0"])},
        ["hi", "lo"],
        {f"{K}=d0": "lo/a.json", f"{K}=d1": "lo/a.json"},
        set(),
        id="order-of-dirs-is-priority",
    ),
    pytest.param(
        {"lo/a.json": (K, ["d0", "d1"]), "lo/b.yaml": (K, ["d0"]), "hi/c.json": (K, ["d0"])},
        ["lo", "hi"],
        {f"{K}=d1": "lo/a.json"},
        {"lo/a.json", "lo/b.yaml"},
        id="low-conflict-removes-high-definition",
    ),
    pytest.param(
        {"lo/a.json": (K, ["d0"]), "hi/a.json": (K, ["d0"]), "hi/b.json": (K, ["d0", "d2"])},
        ["lo", "hi"],
        {f"{K}=d2": "hi/b.json"},
        {"hi/a.json", "hi/b.json"},
        id="high-conflict-shadows-low",
    ),
    pytest.param(
        {"d/a.json": (K, ["d0"]), "d/b.json": ("other.com/device", ["d0"])},
        ["d"],
        {f"{K}=d0": "d/a.json", "other.com/device=d0": "d/b.json"},
        set(),
        id="same-name-other-vendor",
    ),
]


@pytest.mark.parametrize(("files", "dirs", "devices", "error_paths"), PRIORITY_CASES)
def test_priorities_and_conflicts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, tuple[str, list[str]]],
    dirs: list[str],
    devices: dict[str, str],
    error_paths: set[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for rel, (kind, names) in files.items():
        write(tmp_path / rel, spec_json(kind, names))
    reg = Registry(dirs, auto_refresh=False)
    assert {n: rd.spec.path for n, rd in reg.devices().items()} == devices
    assert set(reg.get_errors()) == error_paths
    assert reg.list_devices() == sorted(devices)


def test_conflict_texts_name_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        write(tmp_path / "d" / name, spec_json(K, ["dev0"]))
    reg = Registry(["d"], auto_refresh=False)
    first = 'conflicting device "vendor.com/device=dev0" (specs "d/b.yaml", "d/a.yaml")'
    second = 'conflicting device "vendor.com/device=dev0" (specs "d/c.yaml", "d/a.yaml")'
    assert reg.get_errors() == {"d/a.yaml": [first, second], "d/b.yaml": [first], "d/c.yaml": [second]}
    # vendors/classes of specs whose devices all conflicted are still listed
    assert reg.list_vendors() == ["vendor.com"]
    assert reg.list_classes() == ["device"]
    assert len(reg.get_vendor_specs("vendor.com")) == 3
    with pytest.raises(ConflictError) as info:
        reg.refresh()
    assert first in str(info.value)
    assert info.value.names == ["vendor.com/device=dev0"]


def test_conflicts_mixed_with_other_errors_raise_a_plain_registry_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a.yaml", "b.yaml"):
        write(tmp_path / "d" / name, spec_json(K, ["dev0"]))
    write(tmp_path / "d" / "broken.json", "{")
    reg = Registry(["d"], auto_refresh=False)
    with pytest.raises(RegistryError) as info:
        reg.refresh()
    assert not isinstance(info.value, ConflictError)
    assert "conflicting device" in str(info.value) and "broken.json" in str(info.value)


@pytest.mark.parametrize(
    ("name", "text", "error_prefix"),
    [
        ("empty.yaml", "", 'failed to load CDI Spec failed to parse CDI Spec "d/empty.yaml", no Spec data'),
        ("bad.json", "{", 'failed to load CDI Spec failed to parse CDI Spec "d/bad.json": '),
        (
            "nodev.json",
            '{"cdiVersion":"0.3.0","kind":"vendor.com/device","devices":[]}',
            "failed to load CDI Spec invalid CDI Spec: invalid spec, no devices",
        ),
        ("onechar.json", spec_json("x/device", ["dev9"]), "failed to load CDI Spec invalid CDI Spec: "),
    ],
)
def test_broken_file_hides_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, error_prefix: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "good.json", spec_json(K, ["dev0"]))
    write(tmp_path / "d" / name, text)
    reg = Registry(["d"], auto_refresh=False)
    assert reg.list_devices() == [f"{K}=dev0"]
    errors = reg.get_errors()
    assert list(errors) == [f"d/{name}"]
    assert errors[f"d/{name}"][0].startswith(error_prefix)
    assert reg.get_spec_errors(f"d/{name}") == errors[f"d/{name}"]


def _env_of(edits: list[object]) -> list[str]:
    out: list[str] = []
    for e in edits:
        out.extend(getattr(e, "env", None) or [])
    return out


def test_edit_order_matches_reference(tmp_path: Path) -> None:
    a = (
        '{"cdiVersion":"0.3.0","kind":"a.com/xx","containerEdits":{"env":["SPEC=a"]},"devices":['
        '{"name":"d","containerEdits":{"env":["DEV=a"]}}]}'
    )
    b = (
        '{"cdiVersion":"0.3.0","kind":"b.com/xx","containerEdits":{"env":["SPEC=b"]},"devices":['
        '{"name":"d","containerEdits":{"env":["DEV=b"]}}]}'
    )
    write(tmp_path / "a.json", a)
    write(tmp_path / "b.json", b)
    reg = Registry([str(tmp_path)], auto_refresh=False)
    edits = reg.collect_edits(["a.com/xx=d", "b.com/xx=d", "a.com/xx=d"])
    assert _env_of(list(edits)) == ["SPEC=a", "DEV=a", "SPEC=b", "DEV=b", "DEV=a"]


def test_inject_unresolvable_lists_all_and_leaves_oci(tmp_path: Path) -> None:
    write(tmp_path / "a.json", spec_json(K, ["dev0"]))
    reg = Registry([str(tmp_path)], auto_refresh=False)
    oci: dict[str, object] = {"ociVersion": "1.2.0", "process": {"env": ["X=1"]}}
    with pytest.raises(UnresolvableDevicesError) as info:
        reg.inject_devices(oci, ["nope", f"{K}=dev0", "dev0", "nope"])
    assert info.value.names == ["nope", "dev0", "nope"]
    assert str(info.value) == "unresolvable CDI devices nope, dev0, nope"
    assert oci == {"ociVersion": "1.2.0", "process": {"env": ["X=1"]}}


def test_inject_nil_oci(tmp_path: Path) -> None:
    reg = Registry([str(tmp_path)], auto_refresh=False)
    with pytest.raises(NilOCISpecError) as info:
        reg.inject_devices(None, ["a", "b"])
    assert isinstance(info.value, InjectionError)
    assert str(info.value) == "can't inject devices, nil OCI Spec"
    assert info.value.unresolved == ["a", "b"]


def test_inject_applies_spec_edits_once(tmp_path: Path) -> None:
    doc = (
        '{"cdiVersion":"0.3.0","kind":"vendor.com/device","containerEdits":{"env":["S=1"]},"devices":['
        '{"name":"dev0","containerEdits":{"env":["D0=1"]}},{"name":"dev1","containerEdits":{"env":["D1=1"]}}]}'
    )
    write(tmp_path / "a.json", doc)
    reg = Registry([str(tmp_path)], auto_refresh=False)
    oci: dict[str, object] = {"ociVersion": "1.2.0", "process": {"cwd": "/", "env": []}}
    reg.inject_devices(oci, [f"{K}=dev0", f"{K}=dev1"])
    process = oci["process"]
    assert isinstance(process, dict)
    assert process["env"] == ["S=1", "D0=1", "D1=1"]


def test_incremental_refresh_sees_every_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cdikit.registry.loader as loader_mod

    monkeypatch.setattr(loader_mod, "RACY_WINDOW_NS", -1)  # trust every stamp: exercise stamps alone
    paths = [write(tmp_path / f"s{i}.json", spec_json(f"v{i}.com/cc", ["d"])) for i in range(5)]
    reg = Registry([str(tmp_path)], auto_refresh=False)
    loader = reg._loader
    assert loader.parses == 5
    reg.refresh()
    assert loader.parses == 5, "unchanged files were parsed again"
    write(paths[2], spec_json("v2.com/cc", ["d", "e"]))  # in place, new size
    reg.refresh()
    assert loader.parses == 6
    assert "v2.com/cc=e" in reg.list_devices()
    paths[3].unlink()
    reg.refresh()
    assert loader.parses == 6
    assert "v3.com/cc=d" not in reg.list_devices()
    write(tmp_path / "broken.json", "{")
    with pytest.raises(RegistryError):
        reg.refresh()
    with pytest.raises(RegistryError):
        reg.refresh()  # the cached error is reported again without a re-parse
    assert loader.parses == 7


def test_racy_file_is_reparsed_until_settled(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", spec_json(K, ["dev0"]))
    reg = Registry([str(tmp_path)], auto_refresh=False)
    before = reg._loader.parses
    reg.refresh()
    assert reg._loader.parses == before + 1  # just written: not trusted yet
    assert path.exists()


def test_listener_called_only_on_change(tmp_path: Path) -> None:
    write(tmp_path / "a.json", spec_json(K, ["dev0"]))
    reg = Registry([str(tmp_path)], auto_refresh=False)
    calls: list[list[str]] = []
    reg.add_listener(lambda r: calls.append(r.list_devices()))
    reg.refresh()
    assert calls == []
    write(tmp_path / "b.json", spec_json(K, ["dev1"]))
    reg.refresh()
    assert calls == [[f"{K}=dev0", f"{K}=dev1"]]


def test_spec_dirs_are_cleaned_and_default(tmp_path: Path) -> None:
    reg = Registry([f"{tmp_path}/x/../d/", "./rel//"], auto_refresh=False)
    assert reg.spec_dirs == [f"{tmp_path}/d", "rel"]
    with pytest.raises(TypeError):
        Registry("/etc/cdi", auto_refresh=False)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link_to(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        os.symlink(target, path)

    return make


def _huge(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.truncate(MAX_SPEC_BYTES + 1)  # sparse: no disk used


def _big_int(path: Path) -> None:
    path.write_text(
        f"cdiVersion: 0.5.0\nkind: {K}\ndevices: [{{name: {'9' * 5000}, containerEdits: {{env: [A=1]}}}}]\n"
    )


def _big_int_field(path: Path) -> None:
    path.write_text(
        f"cdiVersion: 0.3.0\nkind: {K}\ndevices: [{{name: d, containerEdits: {{additionalGids: [{'9' * 5000}]}}}}]\n"
    )


# Hostile entries of a spec dir: each is that one file's error, never a hang, a memory
# blow-up or a crash of the whole registry (the reference hangs on the first three).
@pytest.mark.parametrize(
    ("make", "error_part"),
    [
        pytest.param(_fifo, "a named pipe", id="fifo"),
        pytest.param(_link_to("/dev/zero"), "a character device", id="symlink-to-dev-zero"),
        pytest.param(_link_to("/dev/urandom"), "a character device", id="symlink-to-dev-urandom"),
        pytest.param(_huge, "larger than 16 MiB", id="over-size-bound"),
        pytest.param(_link_to("/nonexistent/x.json"), "no such file or directory", id="dangling-symlink"),
        pytest.param(_big_int_field, "cannot unmarshal string into", id="5000-digit-integer-in-int-field"),
    ],
)
def test_hostile_spec_dir_entry_is_one_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], None], error_part: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "good.json", spec_json(K, ["dev0"]))
    make(tmp_path / "d" / "bad.json")
    reg = Registry(["d"], auto_refresh=False)
    assert reg.list_devices() == [f"{K}=dev0"]
    errors = reg.get_errors()
    assert list(errors) == ["d/bad.json"]
    assert error_part in errors["d/bad.json"][0]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d / "f.json", id="regular-file"),
        pytest.param(lambda d: d / "empty.json", id="empty-file"),
        pytest.param(lambda d: d / "link.json", id="symlink-to-file"),
        pytest.param(lambda d: Path("/proc/version"), id="size-0-in-stat-but-not-empty"),
        pytest.param(lambda d: d / "proc.json", id="symlink-to-proc-file"),
    ],
)
def test_spec_bytes_are_the_whole_file(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    from cdikit.specfile import read_spec_bytes

    (tmp_path / "f.json").write_bytes(b"x" * 70000)
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "link.json").symlink_to(tmp_path / "f.json")
    (tmp_path / "proc.json").symlink_to("/proc/version")
    path = make(tmp_path)
    with open(path, "rb") as fh:
        expected = fh.read()
    assert read_spec_bytes(str(path)) == expected


def test_5000_digit_integer_decodes_as_go_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # go-yaml v2: too big for int64/uint64 and a float overflow, so the text stays a string.
    monkeypatch.chdir(tmp_path)
    _big_int(tmp_path / "big.yaml")
    reg = Registry([str(tmp_path)], auto_refresh=False)
    assert reg.list_devices() == [f"{K}={'9' * 5000}"]


def test_unexpected_decoder_failure_is_one_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cdikit.spec.decode as decode

    original = decode.parse_spec

    def flaky(data: bytes, *, path: str | None = None) -> object:
        if path is not None and path.endswith("bad.json"):
            raise RuntimeError("decoder bug")
        return original(data, path=path)

    monkeypatch.setattr(decode, "parse_spec", flaky)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "good.json", spec_json(K, ["dev0"]))
    write(tmp_path / "d" / "bad.json", spec_json(K, ["dev1"]))
    reg = Registry(["d"], auto_refresh=False, cache=False)
    assert reg.list_devices() == [f"{K}=dev0"]
    assert "RuntimeError: decoder bug" in reg.get_errors()["d/bad.json"][0]


_GC_PROBE = """
import gc, json, os, sys, weakref
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
for i in range(200):
    doc = {"cdiVersion": "0.3.0", "kind": f"v{i}.com/gpu", "devices": [
        {"name": f"d{j}", "containerEdits": {"env": [f"A={j}"], "mounts": [
            {"hostPath": "/h", "containerPath": "/c", "options": ["ro", "bind"]} for _ in range(5)]}}
        for j in range(4)]}
    with open(os.path.join(root, f"s{i}.json"), "w") as fh:
        json.dump(doc, fh)
if sys.argv[2] == "frozen":
    gc.freeze()
frozen = gc.get_freeze_count()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a garbage cycle from before the load
gone = weakref.ref(a)
del a, b
from cdikit.registry import Registry, loader
loader.RACY_WINDOW_NS = 0  # the files just written count as unchanged at the next refresh
reg = Registry([root], auto_refresh=False, cache=False)
young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
marker = [object()]  # the program's, made after the load: a refresh that parses nothing leaves it young
reg.refresh()
marker_aged = any(o is marker for o in gc.get_objects(generation=2))
print(json.dumps({
    "marker_aged": marker_aged,
    "devices": len(reg.list_devices()), "enabled": gc.isenabled(), "young": young,
    "frozen_before": frozen, "frozen_after": gc.get_freeze_count(),
    "cycle_collected": gc.collect() >= 0 and gone() is None,
}))
"""


@pytest.mark.parametrize("frozen", [False, True], ids=["plain", "program-froze-objects"])
def test_a_load_leaves_the_collector_as_it_found_it(tmp_path: Path, frozen: bool) -> None:
    # The ~7,000 lists 200 specs hold are promoted to the oldest generation without a
    # collector pass (freeze + unfreeze), unless the program froze objects itself.
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _GC_PROBE, str(tmp_path / "d"), "frozen" if frozen else "plain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    probe = json.loads(out)
    assert probe["devices"] == 800
    assert probe["enabled"] and probe["cycle_collected"]
    assert probe["frozen_after"] == probe["frozen_before"]
    assert not probe["marker_aged"]
    if not frozen:
        assert probe["young"] < 3000, probe  # without the promotion: >7,000 lists still young
