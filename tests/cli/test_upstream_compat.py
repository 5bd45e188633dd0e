"""Habits of the upstream ``cdi`` tool (cmd/cdi) that cdikit's ``cdi`` keeps, through real processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.cli._helpers import GPU_SPEC, NIC_SPEC, SRC, default_sigint, run_cdi, write

OCI = {"ociVersion": "1.2.0", "process": {"env": ["PATH=/bin"], "cwd": "/"}, "root": {"path": "rootfs"}}


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    low, high = tmp_path / "low", tmp_path / "high"
    write(low / "vendor-gpu.yaml", GPU_SPEC)
    write(high / "other-nic.json", NIC_SPEC)
    return low, high


def test_comma_separated_spec_dirs_before_or_after_the_command(tmp_path: Path) -> None:
    low, high = _dirs(tmp_path)
    for args in (
        ["-d", f"{low},{high}", "devices", "-o", "json"],
        ["devices", "-o", "json", "-d", f"{low},{high}"],
    ):
        result = run_cdi(*args)
        assert result.rc == 0, result.err
        rows = {r["name"]: r["priority"] for r in json.loads(result.out)}
        assert rows == {"vendor.com/gpu=gpu0": 0, "vendor.com/gpu=gpu1": 0, "other.org/nic=eth0": 1}


def test_s_is_short_for_schema(tmp_path: Path) -> None:
    low, _ = _dirs(tmp_path)
    assert run_cdi("-s", "builtin", "-d", str(low), "validate").rc == 0
    result = run_cdi("-d", str(low), "validate", "-s", str(tmp_path / "missing.json"))
    assert result.rc == 2 and "--schema" in result.err


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("devices", "No CDI devices found."),
        ("vendors", "No CDI vendors found."),
        ("classes", "No CDI device classes found."),
        ("specs", "No CDI Specs found."),
    ],
)
def test_empty_listings_say_so_as_upstream(tmp_path: Path, command: str, message: str) -> None:
    # No NVIDIA driver here (a fake /proc for the on-demand provider's precondition).
    env = {"CDIKIT_FAKE_NVML": ""}
    if command == "devices" and os.path.exists("/proc/driver/nvidia/version"):
        pytest.skip("an NVIDIA driver is loaded: nvidia.com/gpu is listed on demand")
    result = run_cdi("-d", str(tmp_path / "empty"), command, env=env)
    assert result.rc == 0, result.err
    assert result.out == message + "\n"
    assert json.loads(run_cdi("-d", str(tmp_path / "empty"), command, "-o", "json", env=env).out) == []


def test_dirs_lists_priorities_state_and_file_errors(tmp_path: Path) -> None:
    low, high = _dirs(tmp_path)
    write(high / "broken.json", "{")
    missing = tmp_path / "missing"
    result = run_cdi("-d", f"{low},{high},{missing}", "dirs")
    assert result.rc == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"{low} (priority 0)"
    assert lines[1] == f"{high} (priority 1)"
    assert lines[2].startswith(f"  - {high}/broken.json: failed to load CDI Spec")
    assert lines[3] == f"{missing} (priority 2, missing)"
    data = json.loads(run_cdi("-d", f"{low},{missing}", "dirs", "-o", "json").out)
    assert [(d["path"], d["priority"], d["exists"]) for d in data] == [
        (str(low), 0, True),
        (str(missing), 1, False),
    ]


def test_devices_and_specs_verbose_show_the_edits(tmp_path: Path) -> None:
    low, high = _dirs(tmp_path)
    out = run_cdi("-d", f"{low},{high}", "devices", "-v", env={"CDIKIT_FAKE_NVML": ""}).out
    assert f"vendor.com/gpu=gpu0 ({low}/vendor-gpu.yaml)" in out
    assert "- GPU=0" in out  # YAML, the spec file's own format
    assert '"NIC=eth0"' in out  # the JSON spec's device in JSON
    plain = run_cdi("-d", f"{low},{high}", "devices", env={"CDIKIT_FAKE_NVML": ""}).out
    assert "GPU=0" not in plain
    specs = run_cdi("-d", f"{low},{high}", "specs", "-v").out
    assert f"Spec File {low}/vendor-gpu.yaml" in specs and "cdiVersion: 0.5.0" in specs
    assert f"Spec File {high}/other-nic.json" in specs and '"kind":"other.org/nic"' in specs


def test_resolve_takes_several_files_and_keeps_each_format(tmp_path: Path) -> None:
    low, high = _dirs(tmp_path)
    one = dict(OCI, annotations={"cdi.k8s.io/a": "vendor.com/gpu=gpu0"})
    two = dict(OCI, linux={"devices": [{"path": "other.org/nic=eth0"}]})
    write(tmp_path / "one.json", json.dumps(one))
    write(tmp_path / "two.yaml", yaml.safe_dump(two))
    dirs = f"{low},{high}"
    single = run_cdi("-d", dirs, "resolve", str(tmp_path / "two.yaml"))
    assert single.rc == 0, single.err
    assert "NIC=eth0" in yaml.safe_load(single.out)["process"]["env"]  # YAML in, YAML out
    assert (
        json.loads(run_cdi("-d", dirs, "resolve", str(tmp_path / "one.json")).out)["process"]["env"][-1]
        == "GPU=0"
    )
    both = run_cdi(
        "-d", dirs, "resolve", "-o", "json", str(tmp_path / "one.json"), str(tmp_path / "two.yaml")
    )
    assert both.rc == 0, both.err
    doc = json.loads(both.out)
    assert list(doc) == [str(tmp_path / "one.json"), str(tmp_path / "two.yaml")]
    assert doc[str(tmp_path / "two.yaml")]["linux"]["devices"] == []
    # One unresolvable file: nothing printed at all, exit 1.
    write(tmp_path / "bad.json", json.dumps(dict(OCI, annotations={"cdi.k8s.io/b": "vendor.com/gpu=nope"})))
    failed = run_cdi("-d", dirs, "resolve", str(tmp_path / "one.json"), str(tmp_path / "bad.json"))
    assert failed.rc == 1 and failed.out == "" and "bad.json" in failed.err


def test_inject_output_format_follows_the_input_file(tmp_path: Path) -> None:
    low, _ = _dirs(tmp_path)
    write(tmp_path / "config.yaml", yaml.safe_dump(OCI))
    write(tmp_path / "config.json", json.dumps(OCI))
    as_yaml = run_cdi("-d", str(low), "inject", str(tmp_path / "config.yaml"), "vendor.com/gpu=gpu0")
    assert as_yaml.rc == 0 and as_yaml.out.startswith(("ociVersion", "process", "root"))
    as_json = run_cdi("-d", str(low), "inject", str(tmp_path / "config.json"), "vendor.com/gpu=gpu0")
    assert json.loads(as_json.out)["process"]["env"][-1] == "GPU=0"
    forced = run_cdi(
        "-d", str(low), "inject", "-o", "json", str(tmp_path / "config.yaml"), "vendor.com/gpu=gpu0"
    )
    assert json.loads(forced.out)["ociVersion"] == "1.2.0"


def _drain(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def test_monitor_yaml_documents_and_one_report_per_burst(tmp_path: Path) -> None:
    spec_dir = tmp_path / "cdi"
    write(spec_dir / "vendor-gpu.yaml", GPU_SPEC)
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdikit", "-d", str(spec_dir), "monitor", "devices", "-o", "yaml", "-v",
         "--interval", "30", "--debounce", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint,
    )  # fmt: skip
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True).start()
    threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True).start()
    try:
        assert "watching" in err.get(timeout=30)
        # A burst: three files within the debounce window, reported together after it.
        for i in range(3):
            write(spec_dir / f"n{i}.json", NIC_SPEC.replace("eth0", f"eth{i}"))
            time.sleep(0.1)
        text = ""
        deadline = time.monotonic() + 30
        while text.count("item: other.org/nic") < 3 and time.monotonic() < deadline:
            try:
                text += out.get(timeout=0.5)
            except queue.Empty:
                pass
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    docs = [d for d in yaml.safe_load_all(text) if d]
    initial = [d for d in docs if d["change"] == "initial"]
    added = [d for d in docs if d["change"] == "added"]
    assert {d["item"] for d in initial} == {"vendor.com/gpu=gpu0", "vendor.com/gpu=gpu1"}
    assert sorted(d["item"] for d in added) == [f"other.org/nic=eth{i}" for i in range(3)]
    # Reported once the burst was over: all three in one refresh, so the same second or so.
    assert max(d["time"] for d in added) - min(d["time"] for d in added) < 0.2


# -- global options before or after every command -----------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_configure_takes_d_as_its_spec_dirs(tmp_path: Path, where: str) -> None:
    conf = tmp_path / "crio.conf"
    cmd = ["configure", "crio", "--config", str(conf)]
    args = ["-d", "/x,/y", *cmd] if where == "before" else [*cmd, "-d", "/x,/y"]
    result = run_cdi(*args)
    assert result.rc == 0, result.err
    assert 'cdi_spec_dirs = ["/x", "/y"]' in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["configure", "podman", "-o", "json"], "cdi configure does not use -o/--output"),
        (["-o", "json", "configure", "podman"], "cdi configure does not use -o/--output"),
        (["kube", "device-plugin", "-o", "json"], "cdi kube device-plugin does not use -o/--output"),
        (["-s", "none", "kube", "dra-plugin"], "cdi kube dra-plugin does not use -s/--schema"),
        (["transform", "root", "-d", "/x"], "cdi transform root does not use -d/--spec-dirs"),
        (["generate", "nvidia", "-o", "table"], "cdi generate nvidia writes a spec: -o json or -o yaml"),
    ],
)
def test_a_global_option_a_command_cannot_honour_is_refused(args: list[str], message: str) -> None:
    result = run_cdi(*args)
    assert result.rc == 2
    assert result.err == f"cdi: error: {message}\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_transform_takes_o_as_the_spec_format(tmp_path: Path, where: str) -> None:
    write(tmp_path / "in.yaml", GPU_SPEC)
    cmd = ["transform", "root", "--from", "/x", "--to", "/y", "--input", str(tmp_path / "in.yaml")]
    result = run_cdi(*(["-o", "json", *cmd] if where == "before" else [*cmd, "-o", "json"]))
    assert result.rc == 0, result.err
    assert json.loads(result.out)["kind"] == "vendor.com/gpu"


def test_listing_a_registry_with_errors_exits_0_and_validate_exits_1(tmp_path: Path) -> None:
    low, _ = _dirs(tmp_path)
    write(low / "broken.json", "{")
    listed = run_cdi("-d", str(low), "vendors")
    assert listed.rc == 0 and "vendor.com" in listed.out and "spec file has errors" in listed.err
    assert run_cdi("-d", str(low), "validate").rc == 1
