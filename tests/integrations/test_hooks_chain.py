"""``cdi-hook chain``: several hooks in one process, with the effect of running them one by one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit.integrations.hooks import chain_steps, main

HOOK = [sys.executable, "-c", "import sys; from cdikit.integrations.hooks import main; sys.exit(main())"]


def _hook(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOOK, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "steps"),
    [
        (["create-symlinks", "--link", "a::b"], None),
        (["chain", "create-symlinks", "--link", "a::b"], [["create-symlinks", "--link", "a::b"]]),
        (["chain", "create-symlinks", "--link", "a::b", "--", "update-ldcache", "--folder", "/l"],
         [["create-symlinks", "--link", "a::b"], ["update-ldcache", "--folder", "/l"]]),
        # a flag's value is never a separator, even when it is "--"
        (["chain", "create-symlinks", "--link", "--", "--", "noop"], [["create-symlinks", "--link", "--"], ["noop"]]),
        (["chain", "chmod", "--mode=755", "--path", "/x", "--", "noop"],
         [["chmod", "--mode=755", "--path", "/x"], ["noop"]]),
        (["--debug", "hook", "chain", "noop", "--", "noop"], [["--debug", "hook", "noop"], ["--debug", "hook", "noop"]]),
        (["chain"], [[]]),
        (["chain", "--", "noop"], [[], ["noop"]]),
    ],
)  # fmt: skip
def test_chain_steps(args: list[str], steps: list[list[str]] | None) -> None:
    assert chain_steps(args) == steps


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chain"], "empty step"),
        (["chain", "noop", "--"], "empty step"),
        (["chain", "noop", "--", "chain", "noop"], "cannot hold a chain"),
        (["chain", "create-symlinks", "--bogus", "x"], "unknown flag --bogus"),
        (["chain", "noop", "--", "update-ldcache", "--folder"], "needs a value"),
    ],
)
def test_bad_chains_fail_before_any_step(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 1
    assert message in capsys.readouterr().err


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, Path, str]:
    bundle = tmp_path / "bundle"
    root = bundle / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps({"root": {"path": "rootfs"}}), encoding="utf-8")
    state = json.dumps(
        {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 1, "bundle": str(bundle)}
    )
    return bundle, root, state


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            out[rel] = f"link:{os.readlink(p)}" if p.is_symlink() else f"{oct(p.lstat().st_mode)}"
    return out


STEPS = [
    [
        "create-symlinks",
        "--link",
        "libfoo.so.1::/usr/lib/libfoo.so",
        "--link",
        "libbar.so.2::/usr/lib/libbar.so",
    ],
    ["create-symlinks", "--link", "../card1::/dev/dri/by-path/pci-0000:01:00.0-card"],
    ["future-hook", "--whatever", "1"],
    ["chmod", "--mode", "0750", "--path", "/usr/lib"],
    ["enable-cuda-compat", "--host-driver-version=580.65.06"],
]


def test_chain_has_the_effect_of_its_steps_one_by_one(bundle: tuple[Path, Path, str], tmp_path: Path) -> None:
    bdir, root, state = bundle
    pristine = tmp_path / "pristine"
    shutil.copytree(bdir, pristine, symlinks=True)
    for step in STEPS:
        done = _hook(step, state)
        assert done.returncode == 0, done.stderr
    one_by_one = _tree(root)
    shutil.rmtree(bdir)
    shutil.copytree(pristine, bdir, symlinks=True)
    chained = [a for step in STEPS for a in ("--", *step)][1:]
    done = _hook(["chain", *chained], state)
    assert done.returncode == 0, done.stderr
    assert "unsupported hook 'future-hook'" in done.stderr
    assert _tree(root) == one_by_one
    assert os.readlink(root / "usr/lib/libfoo.so") == "libfoo.so.1"


def test_chain_stops_at_the_first_failing_step(bundle: tuple[Path, Path, str]) -> None:
    _, root, state = bundle
    (root / "dir").mkdir()
    (root / "dir" / "f").write_text("", encoding="utf-8")
    done = _hook(["chain", "create-symlinks", "--link", "x::/dir", "--", "create-symlinks", "--link", "y::/after"],
                 state)  # fmt: skip
    assert done.returncode == 1
    assert "cannot create symlink /dir -> x" in done.stderr
    assert not os.path.lexists(root / "after")


def test_chain_steps_stay_confined(bundle: tuple[Path, Path, str], tmp_path: Path) -> None:
    """A link planted by an earlier step (or the image) cannot lead a later step out of the root."""
    _, root, state = bundle
    outside = tmp_path / "outside"
    outside.mkdir()
    done = _hook(["chain", "create-symlinks", "--link", f"{outside}::/escape", "--",
                  "create-symlinks", "--link", "t::/escape/planted"], state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (outside / "planted").exists()
    assert os.readlink(root / str(outside).lstrip("/") / "planted") == "t"


KNOWN = {"create-symlinks": ["--link"], "update-ldcache": ["--folder", "--ldconfig-path"],
         "chmod": ["--mode", "--path"], "enable-cuda-compat": ["--host-driver-version"]}  # fmt: skip
VALUES = st.sampled_from(["a::b", "/x", "--", "-", "--link", "chain"])


@st.composite
def _step(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(KNOWN)))
    flags = draw(st.lists(st.sampled_from(KNOWN[name]), max_size=3))
    out = [name]
    for flag in flags:
        value = draw(VALUES)
        out += draw(st.sampled_from([[flag, value], [f"{flag}={value}"]]))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(_step(), min_size=1, max_size=4), st.booleans())
def test_steps_split_where_flags_start(steps: list[list[str]], debug: bool) -> None:
    """Steps joined with "--" split back exactly, whatever their values look like."""
    whole = [a for step in steps for a in ("--", *step)][1:]
    prefix = ["--debug"] if debug else []
    assert chain_steps([*prefix, "chain", *whole]) == [[*prefix, *step] for step in steps]


# What a hook process may import: every module is paid for at every container start (issue 14).
# `json` brings `re`, `typing` brings `re` and `functools`, `secrets` brings `hashlib` (OpenSSL),
# `ctypes` its type zoo (cdikit._libc binds the few libc calls on `_ctypes`), `signal` brings `enum`.
_HEAVY = ("typing", "re", "json", "enum", "collections", "functools", "secrets", "hashlib", "random",
          "ctypes", "signal", "inspect", "subprocess", "threading", "tempfile", "shutil", "pathlib",
          "argparse", "msgspec", "importlib", "warnings", "contextlib", "dataclasses")  # fmt: skip


def test_a_whole_chain_imports_no_heavy_module(tmp_path: Path) -> None:
    """Every step of a generated spec's chain runs without importing any of :data:`_HEAVY`.

    ``update-ldcache`` is included where it can run (root, a static ``/sbin/ldconfig``).
    """
    from tests._elfcraft import elf_with_note

    root = tmp_path / "rootfs"
    for d in ("etc", "usr/lib", "dev/dri", "usr/local/cuda/compat"):
        (root / d).mkdir(parents=True)
    (root / "dev/dri/card1").touch()
    (root / "dev/nvidia0").touch()
    note = b'{"format": 1, "CUDA Version": "13.0", "driver": [570], "device": []}'
    (root / "usr/local/cuda/compat/libcuda.so.580.65.06").write_bytes(elf_with_note(note))
    params = tmp_path / "params"
    params.write_text("ModifyDeviceFiles: 0\n", encoding="utf-8")
    spec = tmp_path / "config.json"
    spec.write_text(json.dumps({"root": {"path": str(root)}}), encoding="utf-8")
    steps = [
        ["create-symlinks", "--link", "libfoo.so.1::/usr/lib/libfoo.so"],
        ["enable-cuda-compat", "--host-driver-version=570.1.2"],
        ["chmod", "--mode", "0755", "--path", "/usr/lib"],
        ["disable-device-node-modification", f"--nvidia-params={params}"],
        ["update-application-profile"],
        ["create-symlinks", "--if-target-exists", "--link", "../card1::/dev/dri/by-path/p-card"],
    ]
    ldconfig = os.geteuid() == 0 and os.path.isfile("/sbin/ldconfig")
    if ldconfig:
        steps.insert(2, ["update-ldcache", "--folder", "/usr/lib"])
    whole = [a for step in steps for a in ("--", *step, "--container-spec", str(spec))][1:]
    code = (  # as the launcher runs it: -I -S, the import path spelled out
        f"import sys; sys.path.extend({sys.path!r}); from cdikit.integrations.hooks import main; "
        "rc = main(sys.argv[1:]); print(rc, ' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, "chain", *whole], capture_output=True,
                          text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    rc, _, modules = done.stdout.strip().partition(" ")
    assert rc == "0", done.stderr
    assert os.readlink(root / "dev/dri/by-path/p-card") == "../card1"
    assert (root / "etc/ld.so.conf.d/00-cdikit-compat.conf").exists()  # the note was read
    assert not ldconfig or (root / "etc/ld.so.cache").exists()
    loaded = set(modules.split())
    assert "cdikit._elf" in loaded and "cdikit.integrations.hooks._devicefiles" in loaded  # the steps ran
    assert sorted(loaded.intersection(_HEAVY)) == []


def test_each_root_is_found_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chain reads a bundle's config.json once, each source of the root its own; a new run reads again."""
    from cdikit.integrations.hooks import _state

    calls: list[str] = []
    real = _state.container_root_from_spec

    def counting(path: str) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(_state, "container_root_from_spec", counting)
    specs = []
    for name in ("a", "b"):
        (tmp_path / name / "rootfs").mkdir(parents=True)
        specs.append(tmp_path / name / "config.json")
        specs[-1].write_text(json.dumps({"root": {"path": "rootfs"}}), encoding="utf-8")
    a, b = (str(p) for p in specs)
    argv = ["chain", "create-symlinks", "--container-spec", a, "--link", "x::/one", "--",
            "create-symlinks", "--container-spec", b, "--link", "x::/two", "--",
            "create-symlinks", "--container-spec", a, "--link", "x::/three"]  # fmt: skip
    assert main(argv) == 0
    assert calls == [a, b]
    assert sorted(os.listdir(tmp_path / "a" / "rootfs")) == ["one", "three"]
    assert os.listdir(tmp_path / "b" / "rootfs") == ["two"]
    (tmp_path / "a" / "other").mkdir()
    specs[0].write_text(json.dumps({"root": {"path": "other"}}), encoding="utf-8")
    assert main(["create-symlinks", "--container-spec", a, "--link", "x::/four"]) == 0
    assert os.listdir(tmp_path / "a" / "other") == ["four"]  # a new run: read again
