"""Spec-dir findings that no consumer reports but every operator trips on.

Each :class:`Finding` carries a severity, the file it is about, what is wrong
and the fix. The checks:

* files every consumer ignores: ``.yml``, wrong-case or missing extensions,
  subdirectories, a spec dir that is itself a symlink;
* one-character vendor or class names (the Go library panics on them, and the
  panic aborts loading every other spec of the host);
* a declared ``cdiVersion`` above 0.5.0 while the content needs 0.5.0 or less
  (podman 4.x and other consumers built on older libraries load at most
  0.5.0);
* invalid spec files and conflicts between files of one priority;
* device nodes, bind-mount sources and hooks whose host paths are missing, not
  device nodes, or not executable;
* hooks that the container can turn against the host (security findings): a
  hook without ``env`` gets the *container's* environment from runc, as root
  (``LD_PRELOAD``, ``PYTHONPATH``...), an error; a hook without ``timeout``
  can hang container creation forever, and a Python hook started without
  ``-I`` obeys ``PYTHON*`` variables, warnings (see docs/security.md);
* spec dirs and files writable by non-root users (whoever can write a spec can
  mount any host path into containers).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from cdikit._paths import SPEC_EXTENSIONS

if TYPE_CHECKING:
    from cdikit.registry import Registry
    from cdikit.spec.types import ContainerEdits, Hook, Spec

__all__ = ["SEVERITIES", "Finding", "lint_spec_dirs", "severity_rank"]

Severity = Literal["info", "warning", "error"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")

# The newest cdiVersion that consumers built on older Go libraries (podman 4.x) load.
_OLD_CONSUMER_MAX = (0, 5, 0)
_BACKUP_SUFFIXES = (
    "~",
    ".bak",
    ".orig",
    ".old",
    ".swp",
    ".tmp",
    ".rpmsave",
    ".rpmnew",
    ".dpkg-old",
    ".dpkg-dist",
)
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, a stable code, where, what, and how to fix it."""

    severity: Severity
    code: str
    path: str
    message: str
    fix: str
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.device is None:
            del data["device"]
        return data


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error."""
    return SEVERITIES.index(severity)


def lint_spec_dirs(
    spec_dirs: Sequence[str], *, registry: Registry | None = None, schema: Any = None
) -> list[Finding]:
    """Every finding for ``spec_dirs`` (index = priority), worst first."""
    if registry is None:
        from cdikit.errors import RegistryError
        from cdikit.registry import Registry

        registry = Registry(list(spec_dirs), auto_refresh=False, schema=schema)
        try:
            registry.refresh()
        except RegistryError:
            pass
    findings: list[Finding] = []
    candidates: list[str] = []
    for directory in spec_dirs:
        findings.extend(_check_dir(directory, candidates))
    for path in candidates:
        findings.extend(_check_content(path))
    findings.extend(_check_registry_errors(registry))
    for spec_file in registry.specs():
        findings.extend(_check_host_paths(spec_file.path, spec_file.spec))
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda f: (-severity_rank(f.severity), f.path, f.code, f.device or ""))
    return unique


# --- files consumers ignore, and who may write them -------------------------------------------


def _check_dir(directory: str, candidates: list[str]) -> Iterator[Finding]:
    if os.path.islink(directory):
        target = os.path.realpath(directory)
        yield Finding(
            "warning",
            "symlinked-spec-dir",
            directory,
            f"the spec dir is a symlink (to {target}); Go consumers do not scan a spec dir that is a symlink",
            f"configure {target} as the spec dir instead, or replace the link by a directory",
        )
        return
    if not os.path.exists(directory):
        yield Finding(
            "info",
            "missing-spec-dir",
            directory,
            "the spec dir does not exist; nothing is loaded from it",
            f"mkdir -p {directory} (or drop it from the spec dirs)",
        )
        return
    if not os.path.isdir(directory):
        if directory.endswith(SPEC_EXTENSIONS):
            candidates.append(directory)
        yield Finding(
            "info",
            "spec-dir-is-file",
            directory,
            "the spec dir is a file; consumers treat it as a single spec file",
            "list the directory that holds it instead",
        )
        return
    yield from _check_writable(directory, "spec dir")
    try:
        names = sorted(os.listdir(directory))
    except OSError as err:
        yield Finding(
            "error", "unreadable-spec-dir", directory, f"cannot list: {err.strerror}", "fix its permissions"
        )
        return
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            yield _subdirectory_finding(path)
        elif name.endswith(SPEC_EXTENSIONS):
            candidates.append(path)
            yield from _check_writable(path, "spec file")
        else:
            finding = _ignored_file_finding(path, name)
            if finding is not None:
                yield finding


def _subdirectory_finding(path: str) -> Finding:
    try:
        inside = [n for n in os.listdir(path) if n.endswith((*SPEC_EXTENSIONS, ".yml"))]
    except OSError:
        inside = []
    if inside:
        return Finding(
            "warning",
            "ignored-subdirectory",
            path,
            f"subdirectories are never scanned; {len(inside)} spec-like file(s) here are ignored "
            f"({', '.join(sorted(inside)[:3])})",
            f"move the files into {os.path.dirname(path)}",
        )
    return Finding(
        "info",
        "ignored-subdirectory",
        path,
        "subdirectories are never scanned",
        "remove it or move its files up",
    )


def _ignored_file_finding(path: str, name: str) -> Finding | None:
    root, ext = os.path.splitext(name)
    if ext == ".yml":
        return Finding(
            "warning",
            "ignored-yml",
            path,
            "consumers read only .json and .yaml files; this .yml file is ignored",
            f"mv {path} {os.path.join(os.path.dirname(path), root + '.yaml')}",
        )
    if ext.lower() in (".json", ".yaml", ".yml"):
        proper = ".json" if ext.lower() == ".json" else ".yaml"
        return Finding(
            "warning",
            "ignored-extension",
            path,
            f"extensions are case-sensitive; {ext} is ignored",
            f"mv {path} {os.path.join(os.path.dirname(path), root + proper)}",
        )
    if name.endswith(_BACKUP_SUFFIXES):
        return Finding("info", "ignored-file", path, "backup or temporary file, ignored", f"rm {path}")
    if _looks_like_spec(path):
        proper = ".json" if _sniff(path).lstrip().startswith(b"{") else ".yaml"
        return Finding(
            "warning",
            "ignored-extension",
            path,
            "looks like a CDI spec but has no .json/.yaml extension, so it is ignored",
            f"mv {path} {path}{proper}"
            if not ext
            else f"mv {path} {os.path.join(os.path.dirname(path), root + proper)}",
        )
    return Finding(
        "info", "ignored-file", path, "not a spec file (no .json/.yaml extension), ignored", f"rm {path}"
    )


def _sniff(path: str) -> bytes:
    from cdikit.errors import CDIError
    from cdikit.specfile import read_spec_bytes  # regular files only: a FIFO must not hang lint

    try:
        return read_spec_bytes(path)[:_SNIFF_BYTES]
    except (OSError, CDIError):
        return b""


def _looks_like_spec(path: str) -> bool:
    head = _sniff(path)
    return b"cdiVersion" in head and b"kind" in head


def _check_writable(path: str, what: str) -> Iterator[Finding]:
    try:
        st = os.stat(path)
    except OSError:
        return
    fix_owner = f"chown root:root {path} && chmod go-w {path}"
    if st.st_mode & stat.S_IWOTH:
        yield Finding(
            "error",
            "world-writable",
            path,
            f"the {what} is writable by every user; anyone who can write a spec can mount any host path "
            "into containers",
            fix_owner,
        )
    elif st.st_mode & stat.S_IWGRP and st.st_gid != 0:
        yield Finding(
            "warning",
            "group-writable",
            path,
            f"the {what} is writable by group {st.st_gid}; its members can mount any host path into containers",
            fix_owner,
        )
    if st.st_uid != 0:
        yield Finding(
            "warning",
            "not-root-owned",
            path,
            f"the {what} is owned by uid {st.st_uid}, who can mount any host path into containers",
            fix_owner,
        )


# --- content: names and versions ---------------------------------------------------------------


def _check_content(path: str) -> Iterator[Finding]:
    from cdikit.errors import CDIError
    from cdikit.spec import minimum_version, parse_spec
    from cdikit.spec.version import normalize_version, version_key
    from cdikit.specfile import read_spec_bytes

    try:
        spec = parse_spec(read_spec_bytes(path), path=path)
    except (OSError, CDIError):
        return  # reported through the registry's errors
    if spec is None:
        yield Finding("warning", "empty-spec", path, "the file holds no spec document", f"rm {path}")
        return
    vendor, _, cls = spec.kind.partition("/")
    for label, part in (("vendor", vendor), ("class", cls)):
        if len(part) == 1:
            yield Finding(
                "error",
                "single-char-name",
                path,
                f"one-character {label} {part!r} in kind {spec.kind!r}: Go consumers (podman, containerd, "
                "CRI-O, Docker) panic on it, and the panic aborts loading every spec on the host",
                f"use a {label} of at least two characters in 'kind'",
            )
    declared = normalize_version(spec.cdi_version)
    if declared is None:
        return
    try:
        needed = minimum_version(spec)
    except CDIError:
        return
    if version_key(declared) > _OLD_CONSUMER_MAX >= version_key(needed):
        yield Finding(
            "warning",
            "version-too-new",
            path,
            f"declares cdiVersion {spec.cdi_version} but its content needs only {needed}; podman 4.x and "
            "other consumers on older CDI libraries load at most 0.5.0 and skip this file",
            f'set cdiVersion: "{needed}" (cdi spec install --cdi-version minimum does it)',
        )


# --- what the registry refused ------------------------------------------------------------------


def _check_registry_errors(registry: Registry) -> Iterator[Finding]:
    reported: set[str] = set()
    for path, messages in sorted(registry.get_errors().items()):
        for message in messages:
            if message.startswith("conflicting device"):
                # The reference records one conflict under both files: report it once.
                if message in reported:
                    continue
                reported.add(message)
                yield Finding(
                    "error",
                    "conflict",
                    path,
                    f"{message}: a device defined twice at one priority is dropped entirely",
                    "remove the device from one of the files, or move one file to a higher-priority spec dir",
                )
            else:
                yield Finding("error", "invalid-spec", path, message, f"cdi validate {path}")
    for directory, message in sorted(registry.get_spec_dir_errors().items()):
        yield Finding("error", "spec-dir-error", directory, message, "fix or remove the spec dir")


# --- host paths the edits refer to --------------------------------------------------------------


def _check_host_paths(path: str, spec: Spec) -> Iterator[Finding]:
    from cdikit.names import qualified_name

    vendor, _, cls = spec.kind.partition("/")
    yield from _check_edits(path, None, spec.edits)
    for device in spec.devices or ():
        yield from _check_edits(path, qualified_name(vendor, cls, device.name), device.edits)


def _check_edits(path: str, device: str | None, edits: ContainerEdits) -> Iterator[Finding]:
    where = f"device {device}" if device else "spec-level edits"
    for node in edits.device_nodes or ():
        host = node.host_path or node.path
        minimal = bool(node.type) and (node.major != 0 or node.type == "p")
        try:
            mode = os.stat(host).st_mode
        except OSError:
            if minimal:
                continue  # the runtime creates the node from type/major/minor
            yield Finding(
                "error",
                "missing-host-device",
                path,
                f"{where}: host device {host} does not exist, so injecting it fails",
                f"create {host}, or give type/major/minor for the node explicitly",
                device,
            )
            continue
        if not minimal and not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
            yield Finding(
                "error",
                "not-a-device",
                path,
                f"{where}: host path {host} is not a device node, so injecting it fails",
                "point hostPath at a character, block or FIFO device",
                device,
            )
    for mount in edits.mounts or ():
        options = mount.options or []
        is_bind = mount.type in ("", "bind", "rbind") or "bind" in options or "rbind" in options
        if is_bind and os.path.isabs(mount.host_path) and not os.path.lexists(mount.host_path):
            yield Finding(
                "error",
                "missing-mount-source",
                path,
                f"{where}: mount source {mount.host_path} does not exist; the container fails to start",
                f"create {mount.host_path} or remove the mount",
                device,
            )
    for hook in edits.hooks or ():
        if not os.path.isabs(hook.path):
            yield Finding(
                "warning",
                "relative-hook-path",
                path,
                f"{where}: {hook.hook_name} hook path {hook.path!r} is relative; runtimes need an absolute path",
                "use an absolute path",
                device,
            )
        elif not os.path.exists(hook.path):
            yield Finding(
                "error",
                "missing-hook",
                path,
                f"{where}: {hook.hook_name} hook {hook.path} does not exist; the container fails to start",
                f"install {hook.path} or remove the hook",
                device,
            )
        elif os.path.isdir(hook.path) or not os.access(hook.path, os.X_OK):
            yield Finding(
                "error",
                "hook-not-executable",
                path,
                f"{where}: {hook.hook_name} hook {hook.path} is not executable; the container fails to start",
                f"chmod 755 {hook.path}",
                device,
            )
        elif _python_without_isolation(hook.path):
            yield Finding(
                "warning",
                "hook-not-isolated",
                path,
                f"{where}: security: {hook.hook_name} hook {hook.path} is a Python script started without -I, "
                "so PYTHONPATH and other PYTHON* variables choose the code it runs as root",
                f"for cdi-hook: cdi-hook --install-launcher {hook.path} (an isolated python -I -S launcher)",
                device,
            )
        yield from _check_hook_limits(path, where, device, hook)


def _check_hook_limits(path: str, where: str, device: str | None, hook: Hook) -> Iterator[Finding]:
    from cdikit._isolation import HOOK_ENV, HOOK_TIMEOUT

    if not hook.env:
        yield Finding(
            "error",
            "hook-without-env",
            path,
            f"{where}: security: {hook.hook_name} hook {hook.path} has no env, so runc runs it as root "
            "with the container's own environment (LD_PRELOAD, PYTHONPATH... chosen by the image)",
            f'give the hook an explicit environment, e.g. "env": ["{HOOK_ENV[0]}"]',
            device,
        )
    if hook.timeout is None:
        yield Finding(
            "warning",
            "hook-without-timeout",
            path,
            f"{where}: {hook.hook_name} hook {hook.path} has no timeout; if it hangs, so does container creation",
            f'give the hook a timeout in seconds, e.g. "timeout": {HOOK_TIMEOUT}',
            device,
        )


def _python_without_isolation(path: str) -> bool:
    """``path`` is a script whose shebang starts Python without ``-I`` (pip's console scripts)."""
    try:
        with open(path, "rb") as f:
            first = f.read(256).split(b"\n", 1)[0]
    except OSError:
        return False
    if not first.startswith(b"#!") or b"python" not in first:
        return False
    words = first[2:].split()
    return not any(w.startswith(b"-") and b"I" in w and not w.startswith(b"--") for w in words[1:])
