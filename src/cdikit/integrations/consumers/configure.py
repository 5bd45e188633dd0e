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

from cdikit._paths import DEFAULT_SPEC_DIRS
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
    # Other files the engine's new config relies on (cdi-runtime's config), written first.
    companions: list[ConfigChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new or any(c.changed for c in self.companions)

    def diff(self) -> str:
        """A unified diff from the current to the planned content ('' when unchanged), companions first."""
        out = [c.diff() for c in self.companions]
        old = (self.old or "").splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        label = self.path if self.old is not None else "/dev/null"
        out.append("".join(difflib.unified_diff(old, new, fromfile=label, tofile=self.path)))
        return "".join(out)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigureError(f"cannot read {path}: {e}", path=path) from e


def _read_toml(path: str) -> tuple[str | None, dict[str, Any]]:
    """The text of ``path`` (None when absent) and its parsed content ({} when absent)."""
    old = _read(path)
    if old is None:
        return None, {}
    try:
        return old, tomllib.loads(old)
    except tomllib.TOMLDecodeError as e:
        raise ConfigureError(f"{path} is not valid TOML: {e}", path=path) from e


# ---------------------------------------------------------------- docker (JSON)


def plan_docker(
    path: str = DEFAULT_PATHS["docker"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    native: bool = True,
    set_default: bool = False,
    runtime_config: str | None = None,
) -> ConfigChange:
    """daemon.json with ``features.cdi`` on and/or a ``cdi`` runtime entry.

    Docker Engine 25 and later read CDI specs themselves (``docker run
    --device vendor.com/class=name``): register the runtime only for older
    engines (see :func:`wants_runtime`). With the runtime, the shim's own
    config file carries the spec dirs.
    """
    old = _read(path)
    try:
        doc = json.loads(old) if old and old.strip() else {}
    except ValueError as e:
        raise ConfigureError(f"{path} is not valid JSON: {e}", path=path) from e
    if not isinstance(doc, dict):
        raise ConfigureError(f"{path} is not a JSON object", path=path)
    notes = []
    companions = []
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
        companions.append(plan_runtime_config(runtime_config, spec_dirs=spec_dirs))
    new = json.dumps(doc, indent=4) + "\n"
    if old is not None and json.loads(old or "{}") == doc:
        new = old  # already configured: keep the file byte for byte
    notes.append("restart dockerd to apply")
    return ConfigChange("docker", path, old, new, notes, companions)


# ---------------------------------------------------------------- TOML text editing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
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


def _key_text(key: str) -> str:
    return key if key and key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _header_text(table: Sequence[str]) -> str:
    return "[" + ".".join(_key_text(k) for k in table) + "]"


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
        rendered = f"{_key_text(key)} = {_toml_value(value)}"
        if not table:  # a top-level key: before the first table header
            first = next((i for i, line in enumerate(lines) if line.strip().startswith("[")), len(lines))
            existing = next((i for i in range(first) if _line_key(lines[i]) == key), None)
            if existing is not None:
                lines[existing] = rendered
            else:
                pos = first
                while pos > 0 and not lines[pos - 1].strip():
                    pos -= 1  # after the last top-level line, not after the blank lines before a header
                lines.insert(pos, rendered)
                if pos == first and first < len(lines) - 1:
                    lines.insert(pos + 1, "")
            continue
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
        manual = "\n".join(
            (f"{_header_text(t)}\n" if t else "") + f"{_key_text(k)} = {_toml_value(v)}" for t, k, v in edits
        )
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
    """The version the installed ``containerd`` reports (``"1.6.20"``), None when not installed."""
    from cdikit.integrations.consumers.versions import detect

    found = detect("containerd")
    return None if found is None or found.version is None else found.text


def containerd_major_minor(version: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in version.lstrip("v").split(".")[:2]]
    except ValueError:
        raise ConfigureError(f"cannot read containerd version {version!r}") from None
    return parts[0], parts[1] if len(parts) > 1 else 0


# The runc runtime containerd defines when the config names none; once the file
# defines any runtime, this built-in one is gone unless the file defines it too.
_BUILTIN_RUNC = {"runtime_type": "io.containerd.runc.v2"}
CDI_ANNOTATIONS = "cdi.k8s.io/*"


def _runtime_edits(
    cri: tuple[str, ...], config: dict[str, Any], runtime_path: str
) -> tuple[list[tuple[tuple[str, ...], str, Any]], str | None]:
    """Edits registering ``cdi-runtime`` as CRI runtime ``cdi`` modelled on runc; runc's BinaryName.

    The ``cdi`` entry copies runc's settings (``SystemdCgroup`` and the other
    options, ``base_runtime_spec``, ...), as nvidia-ctk does, lets the
    kubelet's ``cdi.k8s.io/*`` annotations through to the shim
    (``container_annotations``), and points ``BinaryName`` at the shim. A
    config without a ``runc`` entry gets one, so registering ``cdi`` does not
    remove the built-in default runtime.
    """
    runtimes_table = (*cri, "containerd", "runtimes")
    runtimes = _get(config, runtimes_table)
    runtimes = runtimes if isinstance(runtimes, dict) else {}
    containerd_table = _get(config, (*cri, "containerd"))
    default_name = "runc"
    if isinstance(containerd_table, dict) and isinstance(containerd_table.get("default_runtime_name"), str):
        default_name = containerd_table["default_runtime_name"] or "runc"
    if default_name == "cdi":
        default_name = "runc"
    edits: list[tuple[tuple[str, ...], str, Any]] = []
    base = runtimes.get(default_name)
    if not isinstance(base, dict):
        base = dict(_BUILTIN_RUNC)
        if default_name not in runtimes:
            edits += [((*runtimes_table, default_name), k, v) for k, v in base.items()]
    entry = (*runtimes_table, "cdi")
    for key, value in base.items():
        if key not in ("options", "container_annotations") and isinstance(
            value, str | int | float | bool | list
        ):
            edits.append((entry, key, value))
    annotations = base.get("container_annotations")
    kept = [a for a in annotations if isinstance(a, str)] if isinstance(annotations, list) else []
    edits.append(
        (entry, "container_annotations", [*kept, *([CDI_ANNOTATIONS] if CDI_ANNOTATIONS not in kept else [])])
    )
    options = base.get("options") if isinstance(base.get("options"), dict) else {}
    assert isinstance(options, dict)
    for key, value in options.items():
        if key != "BinaryName" and isinstance(value, str | int | float | bool | list):
            edits.append(((*entry, "options"), key, value))
    edits.append(((*entry, "options"), "BinaryName", runtime_path))
    real = options.get("BinaryName")
    return edits, real if isinstance(real, str) and real else None


def plan_containerd(
    path: str = DEFAULT_PATHS["containerd"],
    *,
    version: str | None = None,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    native: bool | None = None,
    set_default: bool = False,
    runtime_config: str | None = None,
) -> ConfigChange:
    """config.toml with native CDI (1.7+) and/or a ``cdi`` runtime using ``cdi-runtime``.

    ``native=None`` means: native where containerd has it (1.7+); the runtime
    is registered when ``runtime_path`` is given, together with the shim's
    own config file (``runtime_config``, default ``/etc/cdikit/runtime.toml``)
    carrying the spec dirs and the real runtime.
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
    old, config = _read_toml(path)
    v2 = major_minor >= (2, 0)
    cri = ("plugins", "io.containerd.cri.v1.runtime") if v2 else ("plugins", "io.containerd.grpc.v1.cri")
    if old is not None:
        file_version = config.get("version", 1)
        if file_version < 2:
            raise ConfigureError(f"{path} uses config version {file_version}: migrate it first", path=path)
        # containerd 2 migrates a version 2 file in memory: edit the file's own layout.
        v2 = file_version >= 3
        cri = ("plugins", "io.containerd.cri.v1.runtime") if v2 else ("plugins", "io.containerd.grpc.v1.cri")
    edits: list[tuple[tuple[str, ...], str, Any]] = []
    notes = []
    companions = []
    if native:
        edits.append((cri, "enable_cdi", True))
        if spec_dirs:
            edits.append((cri, "cdi_spec_dirs", list(spec_dirs)))
    if runtime_path:
        runtime_edits, real_runtime = _runtime_edits(cri, config, runtime_path)
        edits += runtime_edits
        if set_default:
            edits.append(((*cri, "containerd"), "default_runtime_name", "cdi"))
        notes.append(
            "CRI pods use it with runtimeClassName (handler 'cdi'); ctr: --runc-binary " + runtime_path
        )
        companions.append(
            plan_runtime_config(
                runtime_config, spec_dirs=spec_dirs, runtime=[real_runtime] if real_runtime else None
            )
        )
    preamble = "version = 3\n" if v2 else "version = 2\n"
    new = _edit_toml(path, old, edits, preamble)
    notes.append("restart containerd to apply")
    return ConfigChange("containerd", path, old, new, notes, companions)


# ---------------------------------------------------------------- cdi-runtime's own config


def plan_runtime_config(
    path: str | None = None,
    *,
    spec_dirs: Sequence[str] | None = None,
    runtime: Sequence[str] | None = None,
) -> ConfigChange:
    """``/etc/cdikit/runtime.toml``: the spec dirs and real runtime ``cdi-runtime`` uses.

    An engine starts its runtime without arguments of cdikit's choosing, so
    this file is how ``--spec-dir`` reaches the shim. Keys already set are
    kept unless given here.
    """
    from cdikit._paths import RUNTIME_CONFIG_ENV, RUNTIME_CONFIG_PATH

    # where the shim reads it: $CDIKIT_RUNTIME_CONFIG, else the default
    target = path or os.environ.get(RUNTIME_CONFIG_ENV) or RUNTIME_CONFIG_PATH
    old, current = _read_toml(target)
    edits: list[tuple[tuple[str, ...], str, Any]] = []
    if spec_dirs or "spec-dirs" not in current:
        edits.append(((), "spec-dirs", list(spec_dirs or DEFAULT_SPEC_DIRS)))
    if runtime:
        edits.append(((), "runtime", list(runtime)))
    preamble = "# cdi-runtime settings, written by `cdi configure` (cdikit); see docs/consumers.md\n"
    new = _edit_toml(target, old, edits, preamble)
    return ConfigChange("cdi-runtime", target, old, new, [])


# ---------------------------------------------------------------- cri-o, podman


def plan_crio(
    path: str = DEFAULT_PATHS["crio"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    runtime_config: str | None = None,
) -> ConfigChange:
    """A CRI-O drop-in setting ``cdi_spec_dirs`` (CRI-O always has CDI) and/or a ``cdi`` runtime."""
    old = _read(path)
    edits: list[tuple[tuple[str, ...], str, Any]] = [
        (("crio", "runtime"), "cdi_spec_dirs", list(spec_dirs or DEFAULT_SPEC_DIRS))
    ]
    notes = []
    companions = []
    if runtime_path:
        edits.append((("crio", "runtime", "runtimes", "cdi"), "runtime_path", runtime_path))
        notes.append("CRI pods use it with runtimeClassName (handler 'cdi')")
        companions.append(plan_runtime_config(runtime_config, spec_dirs=spec_dirs))
    new = _edit_toml(path, old, edits)
    notes.append("reload CRI-O (SIGHUP) or restart it to apply")
    return ConfigChange("crio", path, old, new, notes, companions)


# podman honours containers.conf cdi_spec_dirs from 5.5 (podman#25691, PR #25717);
# before, it reads the CDI library's defaults only (verified with Debian's 4.3.1).
_PODMAN_SPEC_DIRS_SINCE = (5, 5)


def plan_podman(
    path: str = DEFAULT_PATHS["podman"],
    *,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    version: tuple[int, int, int] | None = None,
    runtime_config: str | None = None,
) -> ConfigChange:
    """containers.conf with ``cdi_spec_dirs`` (podman always has CDI) and/or a ``cdi`` runtime.

    ``version``: the podman release (None: ask the installed podman). Before
    5.5 podman ignores ``cdi_spec_dirs``: nothing is written for the default
    dirs, and other dirs are refused (the specs must go to /etc/cdi or
    /var/run/cdi).
    """
    from cdikit.integrations.consumers.versions import detect, max_spec_version

    if version is None:
        found = detect("podman")
        version = found.version if found is not None else None
    old = _read(path)
    notes = []
    edits: list[tuple[tuple[str, ...], str, Any]] = []
    reads_dirs = version is None or version[:2] >= _PODMAN_SPEC_DIRS_SINCE
    label = "podman " + ".".join(map(str, version)) if version else "podman"
    if reads_dirs:
        edits.append((("engine",), "cdi_spec_dirs", list(spec_dirs or DEFAULT_SPEC_DIRS)))
    else:
        extra = [
            d for d in spec_dirs or () if os.path.normpath(d) not in ("/etc/cdi", "/var/run/cdi", "/run/cdi")
        ]
        if extra:
            raise ConfigureError(
                f"{label} reads CDI specs only from /etc/cdi and /var/run/cdi (containers.conf "
                f"cdi_spec_dirs is honoured from podman 5.5): install the specs there instead of "
                f"{', '.join(extra)}",
                path=path,
            )
        notes.append(f"{label} reads /etc/cdi and /var/run/cdi natively: nothing to set")
    top = max_spec_version("podman", version)
    if top is not None:
        notes.append(
            f"{label} loads specs up to cdiVersion {top}: write them with `cdi spec install` (minimum version)"
        )
    companions = []
    if runtime_path:
        edits.append((("engine", "runtimes"), "cdi", [runtime_path]))
        notes.append("use it with: podman run --runtime cdi ...")
        companions.append(plan_runtime_config(runtime_config, spec_dirs=spec_dirs))
    new = _edit_toml(path, old, edits) if edits else (old or "")
    if old is None and not edits:
        new = ""
        return ConfigChange("podman", path, "", "", notes, companions)
    return ConfigChange("podman", path, old, new, notes, companions)


def wants_runtime(consumer: str, version: tuple[int, int, int] | None) -> bool:
    """Whether ``cdi configure`` registers ``cdi-runtime`` by default: only where CDI is not native.

    An unknown version counts as a current release (native CDI).
    """
    from cdikit.integrations.consumers.versions import has_native_cdi

    return has_native_cdi(consumer, version) is False


def plan(
    consumer: str,
    *,
    path: str | None = None,
    runtime_path: str | None = None,
    spec_dirs: Sequence[str] | None = None,
    containerd_version: str | None = None,
    set_default: bool = False,
    version: str | None = None,
    runtime_config: str | None = None,
) -> ConfigChange:
    """Dispatch to the ``plan_*`` function of ``consumer``.

    ``version`` is the consumer's release (``containerd_version`` is the older
    spelling for containerd); None asks the installed binary.
    """
    from cdikit.integrations.consumers.versions import parse_version

    target = path or DEFAULT_PATHS.get(consumer)
    if target is None:
        raise ConfigureError(f"unknown consumer {consumer!r} (want one of {', '.join(DEFAULT_PATHS)})")
    version = version or containerd_version
    parsed = parse_version(version) if version else None
    if version and parsed is None:
        raise ConfigureError(f"cannot read {consumer} version {version!r}")
    if consumer == "docker":
        return plan_docker(
            target, runtime_path=runtime_path, spec_dirs=spec_dirs, set_default=set_default,
            runtime_config=runtime_config,
        )  # fmt: skip
    if consumer == "containerd":
        return plan_containerd(
            target, version=version, runtime_path=runtime_path, spec_dirs=spec_dirs,
            set_default=set_default, runtime_config=runtime_config,
        )  # fmt: skip
    if consumer == "crio":
        return plan_crio(
            target, runtime_path=runtime_path, spec_dirs=spec_dirs, runtime_config=runtime_config
        )
    return plan_podman(
        target, runtime_path=runtime_path, spec_dirs=spec_dirs, version=parsed, runtime_config=runtime_config
    )


def apply_change(change: ConfigChange, *, backup: bool = True) -> str | None:
    """Write ``change`` atomically (same mode as before, else 0644); returns the backup path.

    Its companion files are written first, so the engine never reads a config
    naming a shim whose settings are not there yet.
    """
    from cdikit._atomic import atomic_write

    for companion in change.companions:
        apply_change(companion, backup=backup)
    if change.old == change.new:
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
