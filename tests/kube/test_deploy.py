"""The DaemonSet manifests stay consistent with the CLI: arguments parse, host paths match the defaults."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from cdikit.cli._parser import build_parser
from cdikit.integrations.kube.deviceplugin import DEFAULT_PLUGIN_DIR
from cdikit.integrations.kube.dra import DEFAULT_PLUGINS_DIR, DEFAULT_REGISTRY_DIR

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "kube"


def _daemonset(name: str) -> dict[str, Any]:
    with open(DEPLOY / name) as f:
        (ds,) = [d for d in yaml.safe_load_all(f) if d["kind"] == "DaemonSet"]
    return ds  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("manifest", "action", "host_paths"),
    [
        ("device-plugin.yaml", "device-plugin", {DEFAULT_PLUGIN_DIR, "/etc/cdi", "/var/run/cdi"}),
        (
            "dra-plugin.yaml",
            "dra-plugin",
            {DEFAULT_PLUGINS_DIR, DEFAULT_REGISTRY_DIR, "/etc/cdi", "/var/run/cdi"},
        ),
    ],
)
def test_manifest_matches_cli(manifest: str, action: str, host_paths: set[str]) -> None:
    spec = _daemonset(manifest)["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    args = container["args"]
    parser, unavailable = build_parser(args)
    assert "kube" not in unavailable
    parsed = parser.parse_args(args)
    assert parsed.kube_action == action
    volumes = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    assert set(volumes.values()) == host_paths
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    # Same paths inside and outside: the kubelet and the runtime see what the plugin writes.
    assert all(inside == outside for inside, outside in mounts.items())


def test_dra_manifest_can_write_transient_specs() -> None:
    (container,) = _daemonset("dra-plugin.yaml")["spec"]["template"]["spec"]["containers"]
    run_cdi = [m for m in container["volumeMounts"] if m["mountPath"] == "/var/run/cdi"]
    assert run_cdi and not run_cdi[0].get("readOnly", False)
    env = {e["name"] for e in container["env"]}
    assert {"NODE_NAME", "DRA_DRIVER_NAME"} <= env
