"""BuildKit v0.32.2 (built with the Dockerfile labs tag ``dfrundevice``): ``RUN --device``.

1. The documented flow, literally: a spec installed with ``cdi spec install`` is refused
   without an entitlement, used with ``--allow device``, and used without it once
   ``cdi spec autoallow`` has annotated it.
2. Differential: on generated spec dirs, every request form (kind-only -> first device in
   byte order, ``kind=*``, exact, unknown, class alias, optional/required) under every allow
   policy (none, ``device``, a device, a kind, an alias grant, autoallow annotations) gets the
   same answer from ``cdikit.requests`` as from the real BuildKit. Bounded: a fixed seed, a few
   dirs, a few requests each.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.consumers._harness import Consumers, Result, run, run_cdi
from tests.e2e.consumers.conftest import rich_spec

pytestmark = pytest.mark.e2e
AUTOALLOW = "org.mobyproject.buildkit.device.autoallow"
CLASS = "org.mobyproject.buildkit.device.class"


def _context(tmp: Path, run_line: str) -> Path:
    """A build context: FROM scratch + a static busybox, then ``run_line``."""
    import shutil

    ctx = tmp / f"ctx-{abs(hash(run_line))}"
    (ctx / "rootfs/bin").mkdir(parents=True, exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(busybox, ctx / "rootfs/bin/busybox")
    for applet in ("sh", "env", "grep", "sort", "true", "cat", "ls"):
        link = ctx / "rootfs/bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (ctx / "Dockerfile").write_text(f"FROM scratch\nCOPY rootfs/ /\n{run_line}\n")
    return ctx


def build(bk: Consumers, ctx: Path, allow: Sequence[str] = ()) -> Result:
    sock = f"unix://{bk.work / 'buildkitd' / 'buildkitd.sock'}"
    argv = [str(bk.bin / "buildctl"), "--addr", sock, "build", "--progress=plain", "--frontend=dockerfile.v0",
            "--no-cache", "--local", f"context={ctx}", "--local", f"dockerfile={ctx}"]  # fmt: skip
    for grant in allow:
        argv += ["--allow", grant]
    return run(argv)


def wait_devices(bk: Consumers, expected: set[str]) -> None:
    """Poll ``buildctl debug workers -v`` until BuildKit's CDI cache holds exactly ``expected``."""
    sock = f"unix://{bk.work / 'buildkitd' / 'buildkitd.sock'}"
    seen: set[str] = set()
    for _ in range(100):
        out = run([str(bk.bin / "buildctl"), "--addr", sock, "debug", "workers", "-v"]).out
        seen = set(re.findall(r"Name:\s+(\S+=\S+)", out))
        if seen == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"BuildKit never listed {sorted(expected)} (last: {sorted(seen)})")


# ------------------------------------------------------------------ the documented flow


def test_documented_flow(buildkitd: Consumers, tmp_path: Path) -> None:
    spec_dir = buildkitd.spec_dir("buildkitd")
    installed = run_cdi("-d", str(spec_dir), "spec", "install", str(rich_spec(tmp_path)))
    assert installed.rc == 0, installed.err
    wait_devices(buildkitd, {"vendor1.com/device=foo", "vendor1.com/device=bar"})
    ctx = _context(tmp_path, "RUN --device=vendor1.com/device sh -c 'env | grep ^FOO='")

    refused = build(buildkitd, ctx)
    assert refused.rc != 0
    assert (
        "device vendor1.com/device=bar is requested by the build but not allowed" in refused.err
    )  # bar < foo

    allowed = build(buildkitd, ctx, ["device"])
    assert allowed.rc != 0  # kind-only is the *first* device, bar, which has no FOO
    ctx_foo = _context(tmp_path, "RUN --device=vendor1.com/device=foo sh -c 'env | grep ^FOO='")
    allowed = build(buildkitd, ctx_foo, ["device"])
    assert allowed.rc == 0, allowed.err
    assert re.search(r"^#\d+ [\d.]+ FOO=injected$", allowed.err, re.M)

    named = build(buildkitd, ctx_foo, ["device=vendor1.com/device=foo"])
    assert named.rc == 0, named.err

    auto = run_cdi("-d", str(spec_dir), "spec", "autoallow", "vendor1")
    assert auto.rc == 0, auto.err
    for _ in range(50):  # the annotation reaches BuildKit's cache through its watcher
        auto_build = build(buildkitd, ctx_foo)
        if auto_build.rc == 0:
            break
        time.sleep(0.2)
    assert auto_build.rc == 0, auto_build.err
    assert "FOO=injected" in auto_build.err


# ------------------------------------------------------------------ differential


@dataclass
class Outcome:
    """``devices`` injected, or the refusal: ``forbidden`` names, or an unregistered required device."""

    devices: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    unregistered: bool = False


def _env_name(device: str) -> str:
    return "DEV_" + re.sub(r"[^A-Za-z0-9]", "_", device)


def _gen_dirs(rng: random.Random, count: int) -> list[list[dict[str, Any]]]:
    """``count`` spec dirs: two kinds, a few devices each, random class and autoallow annotations."""
    dirs = []
    for _ in range(count):
        specs: list[dict[str, Any]] = []
        for kind in ("vendor.com/gpu", "vendor.com/nic"):
            names = rng.sample(["0", "1", "a", "b", "x1"], rng.randint(1, 3))
            devices = []
            for name in names:
                annotations = {}
                if rng.random() < 0.3:
                    annotations[CLASS] = "accel"
                if rng.random() < 0.25:
                    annotations[AUTOALLOW] = "true"
                devices.append({"name": name, "annotations": annotations})
            specs.append({"kind": kind, "devices": devices,
                          "annotations": {AUTOALLOW: "true"} if rng.random() < 0.15 else {}})  # fmt: skip
        dirs.append(specs)
    return dirs


def _write_dir(spec_dir: Path, specs: list[dict[str, Any]]) -> set[str]:
    import json

    for old in [*spec_dir.glob("*.json"), *spec_dir.glob("*.yaml")]:
        old.unlink()
    names = set()
    for spec in specs:
        kind = str(spec["kind"])
        devices = []
        for dev in spec["devices"]:
            qualified = f"{kind}={dev['name']}"
            names.add(qualified)
            entry: dict[str, object] = {"name": dev["name"],
                                        "containerEdits": {"env": [f"{_env_name(qualified)}=1"]}}  # fmt: skip
            if dev["annotations"]:
                entry["annotations"] = dev["annotations"]
            devices.append(entry)
        doc: dict[str, object] = {"cdiVersion": "0.6.0", "kind": kind, "devices": devices}
        if spec["annotations"]:
            doc["annotations"] = spec["annotations"]
        (spec_dir / (kind.replace("/", "-") + ".json")).write_text(json.dumps(doc))
    return names


def _requests(rng: random.Random, names: set[str]) -> list[tuple[str, list[str]]]:
    """``(RUN --device value, --allow values)`` pairs covering every form and policy."""
    existing = sorted(names)
    forms = ["vendor.com/gpu", "vendor.com/nic", "vendor.com/gpu=*", "vendor.com/nic=*", rng.choice(existing),
             "vendor.com/gpu=nope", "accel", "vendor.com/gpu=nope,required", "accel,required"]  # fmt: skip
    policies: list[list[str]] = [
        [],
        ["device"],
        [f"device={rng.choice(existing)}"],
        ["device=vendor.com/nic"],
    ]
    cases = [(rng.choice(forms), rng.choice(policies)) for _ in range(7)]
    target = rng.choice(existing)
    cases.append(("myalias", [f"device={target},alias=myalias"]))
    cases.append(("vendor.com/gpu=*", ["device=vendor.com/gpu"]))  # the documented difference, when >1 gpu
    return cases


def _buildkit(bk: Consumers, tmp: Path, request: str, allow: list[str], names: set[str]) -> Outcome:
    ctx = _context(tmp, f"RUN --device={request} sh -c 'env | grep ^DEV_ | sort; true'")
    result = build(bk, ctx, allow)
    if result.rc == 0:
        found = set(re.findall(r"^#\d+ [\d.]+ (DEV_\S+)=1$", result.err, re.M))
        return Outcome(devices=frozenset(n for n in names if _env_name(n) in found))
    refused = re.search(r"devices? (.+?) (?:is|are) requested by the build but not allowed", result.err)
    if refused:
        return Outcome(forbidden=frozenset(refused[1].split(", ")))
    if re.search(r"required device .* is not registered", result.err):
        return Outcome(unregistered=True)
    raise AssertionError(f"unexpected BuildKit failure for {request!r} {allow}:\n{result.err[-2000:]}")


def _cdikit(spec_dir: Path, request: str, allow: list[str]) -> Outcome:
    from cdikit.registry import Registry
    from cdikit.requests import AllowPolicy, DeviceNotAllowedError, RequestError, Resolver, parse_request

    resolver = Resolver(
        Registry([str(spec_dir)], auto_refresh=False), policy=AllowPolicy.from_entitlements(allow)
    )
    try:
        return Outcome(devices=frozenset(resolver.resolve([parse_request(request)]).devices))
    except DeviceNotAllowedError as err:
        return Outcome(forbidden=frozenset(re.findall(r"(vendor\.com/\w+=\w+)", str(err))))
    except RequestError:
        return Outcome(unregistered=True)


def _deliberate(request: str, allow: list[str], theirs: Outcome, ours: Outcome) -> bool:
    """cdikit's one documented difference (docs/consumers.md): a kind grant (``--allow
    device=KIND``) covers every device of the kind; BuildKit resolves the grant like a request,
    so it covers only the kind's first device and refuses the others (``KIND=*``, ``KIND=other``)."""
    kinds = {a.removeprefix("device=") for a in allow if a.startswith("device=") and "=" not in a[7:]}
    return (
        bool(theirs.forbidden)
        and all(f.partition("=")[0] in kinds for f in theirs.forbidden)
        and not ours.forbidden
        and theirs.forbidden <= ours.devices
    )


def test_requests_answer_as_buildkit_does(buildkitd: Consumers, tmp_path: Path) -> None:
    rng = random.Random(20261205)
    spec_dir = buildkitd.spec_dir("buildkitd")
    mismatches = []
    compared = deliberate = 0
    for specs in _gen_dirs(rng, 4):
        names = _write_dir(spec_dir, specs)
        wait_devices(buildkitd, names)
        for request, allow in _requests(rng, names):
            theirs = _buildkit(buildkitd, tmp_path, request, allow, names)
            ours = _cdikit(spec_dir, request, allow)
            compared += 1
            if _deliberate(request, allow, theirs, ours):
                deliberate += 1
                continue
            if theirs != ours:
                mismatches.append(
                    f"{request!r} allow={allow} on {sorted(names)}: BuildKit {theirs}, cdikit {ours}"
                )
    assert compared == 36
    assert not mismatches, "\n".join(mismatches)
    print(f"{compared} requests compared with BuildKit, {deliberate} on the documented kind-grant difference")
