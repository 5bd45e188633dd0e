"""``cdi configure``: switch a container engine to CDI, natively or through ``cdi-runtime``.

Each ``plan_*`` function reads the engine's current config file and returns a
:class:`ConfigChange` holding the old and the new text; nothing is written
until :func:`apply_change` (atomic replace, the previous file kept as
``<file>.cdikit-backup``). What is changed:

==========  =============================================  ==================================
engine      native CDI                                     ``cdi-runtime`` registration
==========  =============================================  ==================================
docker      daemon.json ``features.cdi = true``            ``runtimes.cdi.path``
            (+ ``cdi-spec-dirs`` when given)
containerd  1.7: ``plugins."io.containerd.grpc.v1.cri"``   1.6 (no CDI of its own): a ``cdi``
            ``enable_cdi``/``cdi_spec_dirs``; 2.x: under   runtime (``runc.v2`` with
            ``plugins.'io.containerd.cri.v1.runtime'``     ``BinaryName``)
cri-o       always native: ``[crio.runtime]                ``[crio.runtime.runtimes.cdi]``
            cdi_spec_dirs`` (a drop-in file)
podman      always native: ``[engine] cdi_spec_dirs``      ``[engine.runtimes] cdi = [path]``
==========  =============================================  ==================================

TOML files are edited as text so that comments and layout survive; every
edit is verified by parsing the result with :mod:`tomllib`: the wanted keys
must hold the wanted values and nothing else may have changed, otherwise a
:class:`ConfigureError` says which lines to add by hand.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cdikit.errors import CDIError

__all__ = [
    "DEFAULT_PATHS",
    "ConfigChange",
    "ConfigureError",
    "apply_change",
    "containerd_major_minor",
    "detect_containerd_version",
    "plan",
    "plan_containerd",
    "plan_crio",
    "plan_docker",
    "plan_podman",
]

DEFAULT_PATHS = {
    "docker": "/etc/docker/daemon.json",
    "containerd": "/etc/containerd/config.toml",
    "crio": "/etc/crio/crio.conf.d/99-cdikit.conf",
    "podman": "/etc/containers/containers.conf",
}
BACKUP_SUFFIX = ".cdikit-backup"


class ConfigureError(CDIError):
    """An engine config file that cannot be read or safely edited."""


@dataclass
class ConfigChange:
    """The planned new content of one config file."""

    consumer: str
    path: str
    old: str | None  # None: the file does not exist yet
    new: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        """A unified diff from the current to the planned content ('' when unchanged)."""
        old = (self.old or "").splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        label = self.path if self.old is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, fromfile=label, tofile=self.path))


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigureError(f"cannot read {path}: {e}", path=path) from e


# ---------------------------------------------------------------- docker (JSON)


def plan_docker(
    path: str = DEFAULT_PATHS["docker"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    native: bool = True,
    set_default: bool = False,
) -> ConfigChange:
    """daemon.json with ``features.cdi`` on and/or a ``cdi`` runtime entry."""
    old = _read(path)
    try:
        doc = json.loads(old) if old and old.strip() else {}
    except ValueError as e:
        raise ConfigureError(f"{path} is not valid JSON: {e}", path=path) from e
    if not isinstance(doc, dict):
        raise ConfigureError(f"{path} is not a JSON object", path=path)
    notes = []
    if native:
        features = doc.setdefault("features", {})
        if not isinstance(features, dict):
            raise ConfigureError(f"{path}: 'features' is not an object", path=path, field="features")
        features["cdi"] = True
        if spec_dirs:
            doc["cdi-spec-dirs"] = list(spec_dirs)
    if runtime_path:
        runtimes = doc.setdefault("runtimes", {})
        if not isinstance(runtimes, dict):
            raise ConfigureError(f"{path}: 'runtimes' is not an object", path=path, field="runtimes")
        runtimes["cdi"] = {"path": runtime_path}
        notes.append("use it with: docker run --runtime=cdi ...")
        if set_default:
            doc["default-runtime"] = "cdi"
    new = json.dumps(doc, indent=4) + "\n"
    if old is not None and json.loads(old or "{}") == doc:
        new = old  # already configured: keep the file byte for byte
    notes.append("restart dockerd to apply")
    return ConfigChange("docker", path, old, new, notes)


# ---------------------------------------------------------------- TOML text editing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def _header_key(line: str) -> tuple[str, ...] | None:
    """The key path of a ``[table]`` header line (None for other lines, array tables included)."""
    text = line.strip()
    if not text.startswith("[") or text.startswith("[["):
        return None
    try:
        doc = tomllib.loads(text + "\n")
    except tomllib.TOMLDecodeError:
        return None
    keys: list[str] = []
    node: Any = doc
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        keys.append(key)
        node = node[key]
    return tuple(keys)


def _line_key(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith(("#", "[")) or "=" not in text:
        return None
    key = text.split("=", 1)[0].strip()
    return key.strip("\"'") if "." not in key else None


def _get(doc: dict[str, Any], keys: Sequence[str]) -> Any:
    node: Any = doc
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _set(doc: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    node = doc
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _header_text(table: Sequence[str]) -> str:
    parts = [k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k) for k in table]
    return "[" + ".".join(parts) + "]"


def _edit_toml(
    path: str, old: str | None, edits: list[tuple[tuple[str, ...], str, Any]], preamble: str = ""
) -> str:
    """Apply ``(table, key, value)`` edits to TOML text, verified by re-parsing."""
    text = old if old is not None else preamble
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigureError(f"{path} is not valid TOML: {e}", path=path) from e
    lines = text.splitlines()
    for table, key, value in edits:
        if _get(before, (*table, key)) == value:
            continue
        rendered = f"{key} = {_toml_value(value)}"
        start = next((i for i, line in enumerate(lines) if _header_key(line) == table), None)
        if start is None:
            if lines and lines[-1].strip():
                lines.append("")
            lines += [_header_text(table), rendered]
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines))
        existing = next((i for i in range(start + 1, end) if _line_key(lines[i]) == key), None)
        if existing is not None:
            indent = lines[existing][: len(lines[existing]) - len(lines[existing].lstrip())]
            lines[existing] = indent + rendered
        else:
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            lines.insert(start + 1, indent + "  " + rendered)
    new = "\n".join(lines) + "\n"
    wanted = copy.deepcopy(before)
    for table, key, value in edits:
        _set(wanted, (*table, key), value)
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        after = None
    if after != wanted:
        manual = "\n".join(f"{_header_text(t)}\n{k} = {_toml_value(v)}" for t, k, v in edits)
        raise ConfigureError(
            f"cannot edit {path} safely (its layout defines these tables in another form); "
            f"set by hand:\n{manual}",
            path=path,
        )
    if old is not None and after == before:
        return old
    return new


# ---------------------------------------------------------------- containerd


def detect_containerd_version() -> str | None:
    import subprocess

    binary = shutil.which("containerd")
    if binary is None:
        return None
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    # "containerd github.com/containerd/containerd 1.6.20~ds1 <commit>"
    for token in out.split():
        head = token.lstrip("v").split("~")[0].split("-")[0].split("+")[0]
        if head[:1].isdigit() and head.count(".") >= 1:
            return head
    return None


def containerd_major_minor(version: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in version.lstrip("v").split(".")[:2]]
    except ValueError:
        raise ConfigureError(f"cannot read containerd version {version!r}") from None
    return parts[0], parts[1] if len(parts) > 1 else 0


def plan_containerd(
    path: str = DEFAULT_PATHS["containerd"],
    *,
    version: str | None = None,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    native: bool | None = None,
    set_default: bool = False,
) -> ConfigChange:
    """config.toml with native CDI (1.7+) and/or a ``cdi`` runtime using ``cdi-runtime``.

    ``native=None`` means: native where containerd has it (1.7+); the runtime
    is registered when ``runtime_path`` is given.
    """
    if version is None:
        version = detect_containerd_version()
        if version is None:
            raise ConfigureError("containerd is not installed here: give its version (--containerd-version)")
    major_minor = containerd_major_minor(version)
    has_cdi = major_minor >= (1, 7)
    if native is None:
        native = has_cdi
    if native and not has_cdi:
        raise ConfigureError(
            f"containerd {version} has no CDI support (added in 1.7): register cdi-runtime instead"
        )
    if not native and not runtime_path:
        raise ConfigureError("nothing to configure: neither native CDI nor a runtime path")
    old = _read(path)
    v2 = major_minor >= (2, 0)
    cri = ("plugins", "io.containerd.cri.v1.runtime") if v2 else ("plugins", "io.containerd.grpc.v1.cri")
    edits: list[tuple[tuple[str, ...], str, Any]] = []
    notes = []
    if native:
        edits.append((cri, "enable_cdi", True))
        if spec_dirs:
            edits.append((cri, "cdi_spec_dirs", list(spec_dirs)))
    if runtime_path:
        runtime = (*cri, "containerd", "runtimes", "cdi")
        edits.append((runtime, "runtime_type", "io.containerd.runc.v2"))
        edits.append(((*runtime, "options"), "BinaryName", runtime_path))
        if set_default:
            edits.append(((*cri, "containerd"), "default_runtime_name", "cdi"))
        notes.append(
            "CRI pods use it with runtimeClassName (handler 'cdi'); ctr: --runc-binary " + runtime_path
        )
    preamble = "version = 3\n" if v2 else "version = 2\n"
    if old is not None:
        try:
            file_version = tomllib.loads(old).get("version", 1)
        except tomllib.TOMLDecodeError as e:
            raise ConfigureError(f"{path} is not valid TOML: {e}", path=path) from e
        if file_version < 2:
            raise ConfigureError(f"{path} uses config version {file_version}: migrate it first", path=path)
    new = _edit_toml(path, old, edits, preamble)
    notes.append("restart containerd to apply")
    return ConfigChange("containerd", path, old, new, notes)


# ---------------------------------------------------------------- cri-o, podman


def plan_crio(
    path: str = DEFAULT_PATHS["crio"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
) -> ConfigChange:
    """A CRI-O drop-in setting ``cdi_spec_dirs`` (CRI-O always has CDI) and/or a ``cdi`` runtime."""
    old = _read(path)
    edits: list[tuple[tuple[str, ...], str, Any]] = [
        (("crio", "runtime"), "cdi_spec_dirs", list(spec_dirs or ["/etc/cdi", "/var/run/cdi"]))
    ]
    notes = []
    if runtime_path:
        edits.append((("crio", "runtime", "runtimes", "cdi"), "runtime_path", runtime_path))
        notes.append("CRI pods use it with runtimeClassName (handler 'cdi')")
    new = _edit_toml(path, old, edits)
    notes.append("reload CRI-O (SIGHUP) or restart it to apply")
    return ConfigChange("crio", path, old, new, notes)


def plan_podman(
    path: str = DEFAULT_PATHS["podman"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
) -> ConfigChange:
    """containers.conf with ``cdi_spec_dirs`` (podman always has CDI) and/or a ``cdi`` runtime."""
    old = _read(path)
    edits: list[tuple[tuple[str, ...], str, Any]] = [
        (("engine",), "cdi_spec_dirs", list(spec_dirs or ["/etc/cdi", "/var/run/cdi"]))
    ]
    notes = ["podman before 5.5 ignores cdi_spec_dirs (fixed spec dirs /etc/cdi, /var/run/cdi)"]
    if runtime_path:
        edits.append((("engine", "runtimes"), "cdi", [runtime_path]))
        notes.append("use it with: podman run --runtime cdi ...")
    new = _edit_toml(path, old, edits)
    return ConfigChange("podman", path, old, new, notes)


def plan(
    consumer: str,
    *,
    path: str | None = None,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    containerd_version: str | None = None,
    set_default: bool = False,
) -> ConfigChange:
    """Dispatch to the ``plan_*`` function of ``consumer``."""
    target = path or DEFAULT_PATHS.get(consumer)
    if target is None:
        raise ConfigureError(f"unknown consumer {consumer!r} (want one of {', '.join(DEFAULT_PATHS)})")
    if consumer == "docker":
        return plan_docker(target, runtime_path=runtime_path, spec_dirs=spec_dirs, set_default=set_default)
    if consumer == "containerd":
        return plan_containerd(
            target, version=containerd_version, runtime_path=runtime_path, spec_dirs=spec_dirs,
            set_default=set_default,
        )  # fmt: skip
    if consumer == "crio":
        return plan_crio(target, runtime_path=runtime_path, spec_dirs=spec_dirs)
    return plan_podman(target, runtime_path=runtime_path, spec_dirs=spec_dirs)


def apply_change(change: ConfigChange, *, backup: bool = True) -> str | None:
    """Write ``change`` atomically (same mode as before, else 0644); returns the backup path."""
    from cdikit._atomic import atomic_write

    if not change.changed:
        return None
    mode = 0o644
    saved: str | None = None
    if change.old is not None:
        mode = os.stat(change.path).st_mode & 0o7777
        if backup:
            saved = change.path + BACKUP_SUFFIX
            try:
                shutil.copy2(change.path, saved)
            except OSError as e:
                raise ConfigureError(f"cannot back up {change.path}: {e.strerror}", path=change.path) from e
    try:
        atomic_write(change.path, change.new.encode(), mode=mode)
    except (OSError, CDIError) as e:
        raise ConfigureError(f"cannot write {change.path}: {e}", path=change.path) from e
    return saved
