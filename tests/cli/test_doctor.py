"""``cdi doctor --root TREE`` through a real process, on consumer config trees built in tmp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli._helpers import run_cdi, write

DEFAULT_DIRS = ["-d", "/etc/cdi", "-d", "/var/run/cdi"]


def _doctor(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run_cdi(*DEFAULT_DIRS, *extra, "doctor", "--root", str(root), "-o", "json")
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
