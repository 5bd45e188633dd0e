"""``cdi doctor --root TREE`` through a real process, on consumer config trees built in tmp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli._helpers import run_cdi, write

DEFAULT_DIRS = ["-d", "/etc/cdi", "-d", "/var/run/cdi"]


def _doctor(root: Path, *extra: str, versions: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    given = [a for v in versions for a in ("--consumer-version", v)]
    result = run_cdi(*DEFAULT_DIRS, *extra, "doctor", "--root", str(root), *given, "-o", "json")
    assert "Traceback" not in result.err
    data = json.loads(result.out)
    return result.rc, {c["name"]: c for c in data["consumers"]}


def _codes(consumer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in consumer["findings"]}


def test_nothing_installed(tmp_path: Path) -> None:
    rc, consumers = _doctor(tmp_path)
    assert rc == 0
    assert not any(c["found"] for c in consumers.values())
    text = run_cdi("doctor", "--root", str(tmp_path))
    assert "docker      not found" in text.out


@pytest.mark.parametrize(
    ("daemon_json", "code", "severity", "fix_part", "enabled"),
    [
        ('{"features": {"cdi": false}}', "docker-cdi-disabled", "error", '"features": {"cdi": true}', False),
        (
            '{"cdi-spec-dirs": [""]}',
            "docker-cdi-disabled",
            "error",
            '"cdi-spec-dirs": ["/etc/cdi", "/var/run/cdi"]',
            False,
        ),
        ("{}", "docker-cdi-not-enabled", "warning", '"features": {"cdi": true}', None),
        (
            '{"features": {"cdi": true}, "cdi-spec-dirs": ["/etc/cdi"]}',
            "docker-spec-dirs",
            "error",
            '["/etc/cdi", "/var/run/cdi"]',
            True,
        ),
        ("{broken", "docker-config-invalid", "error", "repair", None),
    ],
)
def test_docker(
    tmp_path: Path, daemon_json: str, code: str, severity: str, fix_part: str, enabled: bool | None
) -> None:
    write(tmp_path / "etc/docker/daemon.json", daemon_json)
    rc, consumers = _doctor(tmp_path)
    docker = consumers["docker"]
    assert docker["found"] and docker["cdiEnabled"] is enabled
    finding = _codes(docker)[code]
    assert finding["severity"] == severity
    assert fix_part in finding["fix"]
    assert rc == 1


def test_docker_all_good(tmp_path: Path) -> None:
    write(
        tmp_path / "etc/docker/daemon.json",
        '{"features": {"cdi": true}, "cdi-spec-dirs": ["/etc/cdi", "/run/cdi"]}',
    )
    rc, consumers = _doctor(tmp_path)
    assert consumers["docker"]["findings"] == []  # /run/cdi is /var/run/cdi
    assert rc == 0


def test_docker_found_by_binary_without_config(tmp_path: Path) -> None:
    write(tmp_path / "usr/bin/dockerd", "#!/bin/sh\n", mode=0o755)
    rc, consumers = _doctor(tmp_path)
    assert "docker-cdi-not-enabled" in _codes(consumers["docker"])
    assert rc == 1


@pytest.mark.parametrize(
    ("toml", "code", "fix_part"),
    [
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nenable_cdi = false\n',
            "containerd-cdi-disabled",
            '[plugins."io.containerd.grpc.v1.cri"]',
        ),
        ("version = 2\n", "containerd-cdi-not-enabled", "enable_cdi = true"),
        (
            "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\nenable_cdi = false\n",
            "containerd-cdi-disabled",
            '[plugins."io.containerd.cri.v1.runtime"]',
        ),
        (
            "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\ncdi_spec_dirs = ['/etc/cdi']\n",
            "containerd-spec-dirs",
            'cdi_spec_dirs = ["/etc/cdi", "/var/run/cdi"]',
        ),
        ("version = [", "containerd-config-invalid", "repair"),
    ],
)
def test_containerd(tmp_path: Path, toml: str, code: str, fix_part: str) -> None:
    write(tmp_path / "etc/containerd/config.toml", toml)
    rc, consumers = _doctor(tmp_path)
    assert fix_part in _codes(consumers["containerd"])[code]["fix"]
    assert rc == 1


def test_containerd_2_defaults_are_fine(tmp_path: Path) -> None:
    write(tmp_path / "etc/containerd/config.toml", "version = 3\n")
    rc, consumers = _doctor(tmp_path)
    assert consumers["containerd"]["cdiEnabled"] is True
    assert consumers["containerd"]["findings"] == []
    assert rc == 0


def test_crio_drop_in_overrides_main_config(tmp_path: Path) -> None:
    write(tmp_path / "etc/crio/crio.conf", '[crio.runtime]\ncdi_spec_dirs = ["/etc/cdi", "/var/run/cdi"]\n')
    assert _doctor(tmp_path)[0] == 0
    write(tmp_path / "etc/crio/crio.conf.d/10-narrow.conf", '[crio.runtime]\ncdi_spec_dirs = ["/etc/cdi"]\n')
    rc, consumers = _doctor(tmp_path)
    assert consumers["crio"]["specDirs"] == ["/etc/cdi"]
    assert "crio-spec-dirs" in _codes(consumers["crio"])
    assert rc == 1


def test_podman(tmp_path: Path) -> None:
    write(tmp_path / "etc/containers/containers.conf", "[engine]\n")
    rc, consumers = _doctor(tmp_path)
    assert _codes(consumers["podman"])["podman-spec-dirs-default"]["severity"] == "info"
    assert rc == 0
    write(tmp_path / "etc/containers/containers.conf", '[engine]\ncdi_spec_dirs = ["/opt/cdi"]\n')
    rc, consumers = _doctor(tmp_path)
    assert "podman-spec-dirs" in _codes(consumers["podman"])
    assert rc == 1


def test_buildkit(tmp_path: Path) -> None:
    write(tmp_path / "etc/buildkit/buildkitd.toml", "[cdi]\ndisabled = true\n")
    rc, consumers = _doctor(tmp_path)
    assert "buildkit-cdi-disabled" in _codes(consumers["buildkit"])
    assert rc == 1
    write(tmp_path / "etc/buildkit/buildkitd.toml", '[cdi]\nspecDirs = ["/etc/buildkit/cdi"]\n')
    rc, consumers = _doctor(tmp_path)
    assert "specDirs = [" in _codes(consumers["buildkit"])["buildkit-spec-dirs"]["fix"]


def test_spec_dirs_compared_with_the_given_ones(tmp_path: Path) -> None:
    write(tmp_path / "etc/docker/daemon.json", '{"features": {"cdi": true}}')
    result = run_cdi("-d", "/opt/my-cdi", "doctor", "--root", str(tmp_path), "-o", "json")
    docker = json.loads(result.out)["consumers"][0]
    assert "/opt/my-cdi" in docker["findings"][0]["message"]
    assert result.rc == 1


def test_table_output(tmp_path: Path) -> None:
    write(tmp_path / "etc/docker/daemon.json", '{"features": {"cdi": false}}')
    result = run_cdi("doctor", "--root", str(tmp_path))
    assert "CDI OFF" in result.out
    assert "fix: set" in result.out


DEBIAN_CONTAINERD = (
    'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n'
    '    [plugins."io.containerd.grpc.v1.cri".cni]\n      bin_dir = "/usr/lib/cni"\n'
)
SHIM_16 = (
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
    'runtime_type = "io.containerd.runc.v2"\n'
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cdi]\nruntime_type = "io.containerd.runc.v2"\n'
    '{annotations}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cdi.options]\n'
    'BinaryName = "/usr/local/bin/cdi-runtime"\n'
)


@pytest.mark.parametrize(
    ("version", "toml", "enabled", "via", "codes", "absent"),
    [
        # containerd 1.6: no native CDI, never "1.7", never enable_cdi
        ("1.6.20", DEBIAN_CONTAINERD, False, None, {"containerd-cdi-disabled"}, "enable_cdi"),
        ("1.6.20", SHIM_16.format(annotations='container_annotations = ["cdi.k8s.io/*"]\n'), True,
         "cdi-runtime", set(), "enable_cdi"),
        ("1.6.20", SHIM_16.format(annotations=""), True, "cdi-runtime", {"containerd-cdi-annotations-dropped"},
         "enable_cdi"),
        ('1.6.20', 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cdi.options]\n'
         'BinaryName = "/usr/local/bin/cdi-runtime"\n', True, "cdi-runtime",
         {"containerd-no-default-runtime", "containerd-cdi-annotations-dropped"}, "enable_cdi"),
        # 1.7: native, off by default
        ("1.7.2", DEBIAN_CONTAINERD, None, None, {"containerd-cdi-not-enabled"}, "1.6"),
        # 2.x reading a version 2 file: CDI on by default
        ("2.3.4", DEBIAN_CONTAINERD, True, None, set(), "enable_cdi"),
        ("2.3.4", "version = 3\n", True, None, set(), "enable_cdi"),
    ],
)  # fmt: skip
def test_containerd_by_version(
    tmp_path: Path,
    version: str,
    toml: str,
    enabled: bool | None,
    via: str | None,
    codes: set[str],
    absent: str,
) -> None:
    write(tmp_path / "etc/containerd/config.toml", toml)
    rc, consumers = _doctor(tmp_path, versions=(f"containerd={version}",))
    ctd = consumers["containerd"]
    assert ctd["version"] == version
    assert ctd["cdiEnabled"] is enabled and ctd["via"] == via
    assert set(_codes(ctd)) == codes
    assert all(absent not in f["message"] + f["fix"] for f in ctd["findings"])
    assert rc == (1 if codes else 0)


def test_containerd_16_spec_dirs_come_from_the_shim_config(tmp_path: Path) -> None:
    write(tmp_path / "etc/containerd/config.toml",
          SHIM_16.format(annotations='container_annotations = ["cdi.k8s.io/*"]\n'))  # fmt: skip
    write(tmp_path / "etc/cdikit/runtime.toml", 'spec-dirs = ["/etc/cdi"]\n')
    rc, consumers = _doctor(tmp_path, versions=("containerd=1.6.20",))
    assert consumers["containerd"]["specDirs"] == ["/etc/cdi"]
    assert "runtime.toml" in _codes(consumers["containerd"])["containerd-spec-dirs"]["path"]
    assert rc == 1


@pytest.mark.parametrize(
    ("version", "daemon_json", "enabled", "codes"),
    [
        ("29.7.2", None, True, set()),
        ("29.7.2", "{}", True, set()),
        ("27.5.1", "{}", None, {"docker-cdi-not-enabled"}),
        ("24.0.7", "{}", False, {"docker-cdi-disabled"}),
        ("24.0.7", '{"runtimes": {"cdi": {"path": "/usr/local/bin/cdi-runtime"}}}', True, set()),
    ],
)  # fmt: skip
def test_docker_by_version(
    tmp_path: Path, version: str, daemon_json: str | None, enabled: bool | None, codes: set[str]
) -> None:
    if daemon_json is None:
        write(tmp_path / "usr/bin/dockerd", "#!/bin/sh\n", mode=0o755)
    else:
        write(tmp_path / "etc/docker/daemon.json", daemon_json)
    rc, consumers = _doctor(tmp_path, versions=(f"docker={version}",))
    assert consumers["docker"]["cdiEnabled"] is enabled
    assert set(_codes(consumers["docker"])) == codes
    assert rc == (1 if codes else 0)


def test_podman_43(tmp_path: Path) -> None:
    write(tmp_path / "etc/containers/containers.conf", '[engine]\ncdi_spec_dirs = ["/opt/cdi"]\n')
    write(tmp_path / "etc/cdi/new.yaml", 'cdiVersion: "0.6.0"\nkind: v.com/cls\ndevices:\n- name: a\n'
          '  containerEdits:\n    env: ["A=1"]\n')  # fmt: skip
    write(tmp_path / "etc/cdi/old.yaml", 'cdiVersion: "0.5.0"\nkind: v.com/cls2\ndevices:\n- name: a\n'
          '  containerEdits:\n    env: ["A=1"]\n')  # fmt: skip
    rc, consumers = _doctor(tmp_path, versions=("podman=4.3.1",))
    podman = consumers["podman"]
    assert podman["maxSpecVersion"] == "0.5.0"
    assert podman["specDirs"] == ["/etc/cdi", "/var/run/cdi"]  # cdi_spec_dirs is ignored before 5.5
    codes = _codes(podman)
    assert set(codes) == {"podman-spec-dirs-ignored", "podman-spec-version"}
    assert codes["podman-spec-version"]["path"].endswith("etc/cdi/new.yaml")
    assert "--cdi-version minimum" in codes["podman-spec-version"]["fix"]
    assert rc == 1
    text = run_cdi(*DEFAULT_DIRS, "doctor", "--root", str(tmp_path), "--consumer-version", "podman=4.3.1").out
    assert "loads cdiVersion <= 0.5.0" in text and "4.3.1" in text


def test_bad_consumer_version(tmp_path: Path) -> None:
    result = run_cdi("doctor", "--root", str(tmp_path), "--consumer-version", "docker")
    assert result.rc == 2 and "NAME=X.Y.Z" in result.err
