"""``cdi-runtime`` as a process: passthrough, exec, errors (a fake runtime records what it got)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Env requests count only for a privileged container (CAP_SYS_ADMIN in the bounding set).
PRIVILEGED = {"capabilities": {"bounding": ["CAP_SYS_ADMIN"]}}
SHIM = [sys.executable, "-c", "import sys; from cdikit.integrations.runtime import main; sys.exit(main())"]


def _run(args: list[str], config: Path, *, extra_python: list[str] | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {**os.environ, "CDIKIT_RUNTIME_CONFIG": str(config)}
    cmd = [SHIM[0], *(extra_python or []), *SHIM[1:], *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=60, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ["state", "c1"],
        ["--root", "/r", "--log", "/l", "--log-format", "json", "kill", "c1", "KILL"],
        ["--version"],
        ["delete", "--force", "c1"],
        ["exec", "--bundle", "/nonexistent", "c1", "sh"],
    ],
)
def test_passthrough_execs_runtime_with_unchanged_argv(
    tmp_path: Path, fake_runtime: tuple[Path, Path], args: list[str]
) -> None:
    fake, record = fake_runtime
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\n', encoding="utf-8")
    done = _run(args, config)
    assert done.returncode == 7  # the runtime's own status: the shim replaced itself with it
    assert record.read_text(encoding="utf-8").splitlines() == [str(fake), *args]
    assert done.stderr == ""


def test_passthrough_imports_nothing_heavy(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, _ = fake_runtime
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\n', encoding="utf-8")
    done = _run(["state", "c1"], config, extra_python=["-X", "importtime"])
    # What the interpreter loads by itself here (site hooks of some environments load a lot).
    bare = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True,
                          check=False)  # fmt: skip

    def modules(stderr: str) -> set[str]:
        return {line.split("|")[-1].strip() for line in stderr.splitlines() if "|" in line}

    imported = modules(done.stderr) - modules(bare.stderr)
    assert "cdikit.integrations.runtime" in imported
    for heavy in ("tomllib", "json", "cdikit.registry", "cdikit.spec", "msgspec", "typing", "re", "logging"):
        assert heavy not in imported, f"passthrough imported {heavy}"


def test_create_without_requests_leaves_config_untouched(
    tmp_path: Path, fake_runtime: tuple[Path, Path]
) -> None:
    fake, record = fake_runtime
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    original = json.dumps(
        {"ociVersion": "1.0.2", "process": {"env": ["PATH=/bin"]}, "root": {"path": "rootfs"}}
    )
    (bundle / "config.json").write_text(original, encoding="utf-8")
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\nspec-dirs = ["{tmp_path / "cdi"}"]\n', encoding="utf-8")
    done = _run(["create", "c1"], config, cwd=bundle)  # bundle = working directory
    assert done.returncode == 7, done.stderr
    assert (bundle / "config.json").read_text(encoding="utf-8") == original
    assert record.read_text(encoding="utf-8").splitlines() == [str(fake), "create", "c1"]


@pytest.mark.parametrize(
    ("config_text", "bundle_doc", "message"),
    [
        ("runtime = 3\n", {}, "'runtime' must be a string"),
        ("", None, "cannot read bundle config"),
        ("", '["CDI_DEVICES=x"]', "is not a JSON object"),
        ("", '{"process": {"env": ["CDI_DEVICES=vendor.com/xy=1"]', "is not valid JSON"),
        (
            "",
            {"process": {"env": ["CDI_DEVICES=bad"], **PRIVILEGED}},
            "CDI_DEVICES: invalid CDI device name 'bad'",
        ),
        ("", {"annotations": {"cdi.k8s.io/x": "bad"}}, "invalid CDI device name"),
        (
            "",
            {"process": {"env": ["CDI_DEVICES=vendor.com/xy=1"], **PRIVILEGED}},
            "unresolvable CDI devices vendor.com/xy=1",
        ),
    ],
)
def test_create_failures_never_start_the_runtime(
    tmp_path: Path, fake_runtime: tuple[Path, Path], config_text: str, bundle_doc: object, message: str
) -> None:
    fake, record = fake_runtime
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    if bundle_doc is not None:
        text = bundle_doc if isinstance(bundle_doc, str) else json.dumps(bundle_doc)
        (bundle / "config.json").write_text(text, encoding="utf-8")
    config = tmp_path / "rt.toml"
    config.write_text(config_text if config_text else f'runtime = "{fake}"\nspec-dirs = ["{tmp_path / "cdi"}"]\n', encoding="utf-8")  # fmt: skip
    before = (bundle / "config.json").read_bytes() if bundle_doc is not None else None
    log = tmp_path / "engine.log"
    done = _run(["--log", str(log), "create", "--bundle", str(bundle), "c1"], config)
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stderr.count("\n") == 1  # only the final error
    assert not record.exists()
    if before is not None:
        assert (bundle / "config.json").read_bytes() == before
    assert "level=error" in log.read_text(encoding="utf-8")


def test_missing_runtime_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "rt.toml"
    config.write_text('runtime = ["/nonexistent/runc", "no-such-runtime-xyz"]\n', encoding="utf-8")
    done = _run(["state", "c1"], config)
    assert done.returncode == 1
    assert "no OCI runtime found: tried /nonexistent/runc, no-such-runtime-xyz" in done.stderr


@pytest.mark.parametrize(
    "env",
    [
        ["NVIDIA_VISIBLE_DEVICES=all"],
        ["CDI_DEVICES=vendor.com/xy=*"],
        ["CDI_DEVICES=nope"],
        ["CUDA_VERSION=12.4"],
    ],
)
def test_env_requests_of_an_unprivileged_container_are_ignored_and_logged(
    tmp_path: Path, fake_runtime: tuple[Path, Path], env: list[str]
) -> None:
    """The default request policy: the image's env asks for nothing, the runtime still starts."""
    fake, record = fake_runtime
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    original = json.dumps({"process": {"user": {"uid": 1000, "gid": 1000}, "env": ["PATH=/bin", *env]}})
    (bundle / "config.json").write_text(original, encoding="utf-8")
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\nspec-dirs = ["{tmp_path / "cdi"}"]\n', encoding="utf-8")
    log = tmp_path / "engine.log"
    done = _run(["--log", str(log), "create", "--bundle", str(bundle), "c1"], config)
    assert done.returncode == 7, done.stderr  # the runtime ran
    assert record.read_text(encoding="utf-8").splitlines()[-1] == "c1"
    assert done.stderr == ""
    assert (bundle / "config.json").read_text(encoding="utf-8") == original
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert "level=warning" in line and "unprivileged container" in line
    assert env[0].split("=")[0] in line
