"""The launcher's ``/bin/sh`` front: it decides only what Python would decide identically.

Each case runs the shell front with a stand-in Python that only records that it
was called, and the real shim (Python) on the same command line, config and
bundle. Where the front did not defer, the runtime it exec'd and the argv it
passed must be exactly what the shim execs; the table also pins which calls
take the fast path (so a front that defers everything would fail).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit.integrations.runtime._shlauncher import REQUEST_MARKERS, find_grep, sh_launcher_script

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")

SHIM = [sys.executable, "-c", "import sys; from cdikit.integrations.runtime import main; sys.exit(main())"]
PY_RC = 99  # the stand-in Python's exit status: "deferred to Python"


class World:
    """A fake runtime, a stand-in Python, a launcher, a runtime config and a bundle."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.record = root / "argv.txt"
        self.fake = root / "bin" / "fake-runc"
        self.fake.parent.mkdir()
        self.fake.write_text(
            f'#!/bin/sh\nprintf \'%s\\n\' "$0" "$@" > {self.record}\nexit 7\n', encoding="utf-8"
        )
        self.fake.chmod(0o755)
        python = root / "stand-in-python"
        python.write_text(f"#!/bin/sh\necho PYTHON > {self.record}\nexit {PY_RC}\n", encoding="utf-8")
        python.chmod(0o755)
        self.launcher = root / "cdi-runtime-fast"
        self.launcher.write_text(sh_launcher_script(str(python), [], find_grep()), encoding="utf-8")
        self.launcher.chmod(0o755)
        self.config = root / "runtime.toml"
        self.bundle = root / "bundle"
        self.bundle.mkdir()
        self.write_config(f'runtime = "{self.fake}"\n')
        self.write_bundle(
            {"ociVersion": "1.2.0", "process": {"env": ["PATH=/bin"]}, "root": {"path": "rootfs"}}
        )

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def write_bundle(self, doc: object) -> None:
        (self.bundle / "config.json").write_text(json.dumps(doc), encoding="utf-8")

    def _run(self, cmd: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
        self.record.unlink(missing_ok=True)
        done = subprocess.run(cmd, env=env, cwd=self.root, capture_output=True, timeout=60, check=False)
        lines = self.record.read_text(encoding="utf-8").splitlines() if self.record.exists() else []
        return done.returncode, lines

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{self.fake.parent}:/usr/bin:/bin",
            "CDIKIT_RUNTIME_CONFIG": str(self.config),
            **extra,
        }

    def front(self, args: list[str], **extra: str) -> tuple[int, list[str]]:
        return self._run([str(self.launcher), *args], self.env(**extra))

    def shim(self, args: list[str], **extra: str) -> tuple[int, list[str]]:
        # argv[0] = the launcher's path, as the launcher's Python gets it.
        code = SHIM[2].replace("main()", f"main([{str(self.launcher)!r}, *sys.argv[1:]])")
        return self._run([SHIM[0], "-c", code, *args], {**os.environ, **self.env(**extra)})

    def check(self, args: list[str], **extra: str) -> bool:
        """Run both; True when the front took the fast path (and then agreed with the shim)."""
        rc, lines = self.front(args, **extra)
        if rc == PY_RC and lines == ["PYTHON"]:
            return False
        assert (rc, lines) == self.shim(args, **extra), args
        return True


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


FAST = [
    ["state", "c1"],
    ["--root", "/r", "--log", "/l", "--log-format", "json", "kill", "c1", "KILL"],
    ["--root=/r", "delete", "--force", "c1"],
    ["-root", "/r", "start", "c1"],
    ["--systemd-cgroup", "--rootless=true", "ps", "c1"],
    ["--version"],
    ["features"],
    ["events", "--stats", "c1"],
    ["exec", "--bundle", "/nonexistent", "c1", "sh"],
    ["-", "x"],
    ["create", "--bundle", "bundle", "c1"],
    ["create", "-b", "bundle", "--pid-file", "/p", "c1"],
    ["create", "c1", "--bundle=bundle"],  # urfave/cli takes flags after positionals
    ["run", "--bundle", "bundle", "--config", "config.json", "c1"],
    ["create", "--config", "bundle/config.json", "c1"],
]
SLOW = [
    ["--debug", "state", "c1"],
    ["--help"],
    ["--", "state", "c1"],
    ["--rootless", "state", "c1"],  # crun's boolean form: Python tells it from runc's
    ["--root"],
    ["create", "--bundle"],
    ["create", "--bundle", "bundle", "--help"],
    ["create", "--bundle", "bundle/../bundle", "c1"],
    ["create", "--bundle", "missing", "c1"],
    ["--install-launcher", "x"],
]


@pytest.mark.parametrize("args", FAST)
def test_fast_path_agrees_with_shim(world: World, args: list[str]) -> None:
    assert world.check(args)


@pytest.mark.parametrize("args", SLOW)
def test_uncertain_calls_go_to_python(world: World, args: list[str]) -> None:
    assert world.front(args) == (PY_RC, ["PYTHON"])


@pytest.mark.parametrize("marker", REQUEST_MARKERS)
def test_create_with_possible_request_goes_to_python(world: World, marker: str) -> None:
    world.write_bundle({"process": {"env": ["PATH=/bin"]}, "annotations": {"x": f"a{marker}b"}})
    assert world.front(["create", "--bundle", "bundle", "c1"]) == (PY_RC, ["PYTHON"])


@pytest.mark.skipif(find_grep() is None, reason="no grep")
def test_create_request_escaped_in_json_goes_to_python(world: World) -> None:
    (world.bundle / "config.json").write_text(
        '{"process": {"env": ["CDI\\u005fDEVICES=x"]}}', encoding="utf-8"
    )
    assert world.front(["create", "--bundle", "bundle", "c1"]) == (PY_RC, ["PYTHON"])
    assert world.check(["state", "c1"])


CONFIGS_FAST = [
    'runtime = "{fake}"\n',
    '# comment\n\n  runtime   =   "{fake}"  \nspec-dirs = ["/etc/cdi", "/var/run/cdi",]\n',
    'runtime = ["no-such-runtime", "fake-runc"]\nlog-level = "warning"\nlog-file = "/tmp/x.log"\n',
    'runtime = ["fake-runc"]\ndefault-kind = "nvidia.com/gpu"\nspec-dirs = []\n',
]
CONFIGS_SLOW_CREATE = [  # simple enough for passthrough, but Python must see creates
    'runtime = "{fake}"\nenv-var = "X"\n',
    'runtime = "{fake}"\nannotation-prefixes = ["a/"]\n',
    'runtime = "{fake}"\nnvidia-env-var = ""\n',
    'runtime = "{fake}"\namd-env-var = "X"\n',
    'runtime = "{fake}"\nallowed-kinds = ["vendor.com/gpu"]\n',
    'runtime = "{fake}"\nlog-level = "debug"\n',
    'runtime = "{fake}"\nlog-level = "loud"\n',
    'runtime = "{fake}"\nunknown-key = "x"\n',
    'runtime = "{fake}"\nspec-dirs = "/etc/cdi"\n',
    "runtime = []\n",
]
CONFIGS_SLOW = [
    'runtime = "{fake}"\n[table]\n',
    'runtime = "{fake}" # a comment\n',
    "runtime = '{fake}'\n",
    'runtime = "{fake}"\nruntime = "{fake}"\n',
    "runtime = [,]\n",
    'runtime = ["a",,]\n',
    'runtime = "{fake}\\u0041"\n',
    'runtime = "{fake}"\r\n',
    'runtime = "{fake}"\nx = 1\n',
    'runtime = "{fake}"\naccept-env-requests-when-unprivileged = true\n',  # booleans: tomllib decides
    'runtime = "/nonexistent/runc"\n',
    'runtime = "{fake}"\n"quoted" = "x"\n',
]


@pytest.mark.parametrize("text", CONFIGS_FAST)
def test_simple_configs_take_the_fast_path(world: World, text: str) -> None:
    world.write_config(text.format(fake=world.fake))
    assert world.check(["state", "c1"])
    assert world.check(["create", "--bundle", "bundle", "c1"])


@pytest.mark.parametrize("text", CONFIGS_SLOW_CREATE)
def test_request_shaping_configs_send_creates_to_python(world: World, text: str) -> None:
    world.write_config(text.format(fake=world.fake))
    assert world.check(["state", "c1"])
    assert not world.check(["create", "--bundle", "bundle", "c1"])


@pytest.mark.parametrize("text", CONFIGS_SLOW)
def test_other_configs_go_to_python(world: World, text: str) -> None:
    world.write_config(text.format(fake=world.fake))
    assert not world.check(["state", "c1"])


def test_missing_explicit_config_goes_to_python(world: World) -> None:
    world.config.unlink()
    assert not world.check(["state", "c1"])


def test_missing_default_config_searches_runc_then_crun(world: World, tmp_path: Path) -> None:
    runc = world.fake.parent / "runc"
    runc.symlink_to(world.fake)
    env = {"CDIKIT_RUNTIME_CONFIG": ""}
    if os.path.exists("/etc/cdikit/runtime.toml"):
        pytest.skip("this host has a shim config")
    assert world.check(["state", "c1"], **env)


def test_never_execs_itself(world: World) -> None:
    """A config naming the launcher itself (or PATH finding it first) must not loop."""
    (world.fake.parent / "runc").symlink_to(world.launcher)
    world.write_config(f'runtime = ["{world.fake.parent / "runc"}", "fake-runc"]\n')
    assert world.check(["state", "c1"])
    assert world.front(["state", "c1"])[1][0] == str(world.fake)


TOKENS = st.sampled_from(
    ["state", "create", "run", "kill", "c1", "--root", "/r", "--root=/r", "--log", "-b", "--bundle", "bundle",
     "--bundle=bundle", "--config", "config.json", "-f", "--pid-file", "--debug", "--help", "-h", "--", "-",
     "--rootless", "true", "--systemd-cgroup", "--criu", "x y", "*", "$HOME", "--log-format=json"]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(TOKENS, max_size=6))
def test_any_command_line_fast_or_identical(world: World, args: list[str]) -> None:
    world.check(args)
