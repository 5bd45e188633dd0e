"""Checks of the CDI consumers installed on a host: is CDI on, and do they read cdikit's spec dirs.

Reads (never writes) each consumer's configuration file: Docker's
``daemon.json``, containerd's ``config.toml`` (key location by config
version), CRI-O's ``crio.conf`` plus drop-ins, podman's ``containers.conf``
plus drop-ins, and BuildKit's ``buildkitd.toml``. Every problem becomes a
:class:`~cdikit.lint.Finding` whose ``fix`` is the exact change to make.
All paths are looked up under ``root`` so a mounted node image (or a test
tree) can be checked as well as ``/``.

On the host itself (``root`` is ``/``) each installed consumer binary is
asked its version (:mod:`cdikit.integrations.consumers.versions`): the
verdict depends on it (containerd 1.6 has no CDI of its own, Docker 28.2
turns CDI on by default, podman before 5.5 ignores ``cdi_spec_dirs``,
podman 4.3 loads cdiVersion 0.5.0 at most). Binaries under another root are
never run; give their versions with ``versions``.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdikit._paths import DEFAULT_SPEC_DIRS
from cdikit.integrations.consumers.versions import detect_all, max_spec_version, parse_version
from cdikit.lint import Finding

__all__ = ["DEFAULT_SPEC_DIRS", "ConsumerReport", "check_consumers"]

_BUILDKIT_DEFAULT_DIRS = (*DEFAULT_SPEC_DIRS, "/etc/buildkit/cdi")
_BIN_DIRS = ("usr/bin", "usr/local/bin", "usr/sbin", "usr/local/sbin", "bin", "sbin")


@dataclass
class ConsumerReport:
    """What was found for one consumer: its config, whether CDI is on, the dirs it reads."""

    name: str
    found: bool
    config: list[str] = field(default_factory=list)
    cdi_enabled: bool | None = None
    spec_dirs: list[str] | None = None
    findings: list[Finding] = field(default_factory=list)
    version: tuple[int, int, int] | None = None
    via: str | None = None  # "cdi-runtime" when CDI works only through the shim

    @property
    def version_text(self) -> str | None:
        return ".".join(map(str, self.version)) if self.version else None

    @property
    def max_spec_version(self) -> str | None:
        return max_spec_version(self.name, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "found": self.found,
            "version": self.version_text,
            "maxSpecVersion": self.max_spec_version,
            "via": self.via,
            "config": self.config,
            "cdiEnabled": self.cdi_enabled,
            "specDirs": self.spec_dirs,
            "findings": [f.to_dict() for f in self.findings],
        }


def check_consumers(
    spec_dirs: Sequence[str] = DEFAULT_SPEC_DIRS,
    *,
    root: str = "/",
    versions: Mapping[str, str] | None = None,
    probe: bool | None = None,
) -> list[ConsumerReport]:
    """One report per known consumer; consumers neither installed nor configured have ``found`` false.

    ``versions`` (``{"containerd": "1.6.20"}``) overrides what the binaries
    say. ``probe``: ask this host's binaries (``PATH``, system bin dirs) their
    versions; by default only when ``root`` is ``/`` (a config tree staged
    for this host can ask with ``probe=True``; binaries under ``root`` are
    never run).
    """
    checks: list[Callable[[_Host, list[str]], ConsumerReport]] = [
        _check_docker,
        _check_containerd,
        _check_crio,
        _check_podman,
        _check_buildkit,
    ]
    known: dict[str, tuple[int, int, int] | None] = {}
    if probe or (probe is None and os.path.abspath(root) == "/"):
        known = {name: found.version for name, found in detect_all().items()}
    for name, text in (versions or {}).items():
        known[name] = parse_version(text)
    host = _Host(root, known)
    reports = []
    for check in checks:
        report = check(host, list(spec_dirs))
        reports.append(report)
        if report.found:
            report.findings += _unloadable_specs(host, report, list(spec_dirs))
    return reports


class _Host:
    """Paths under the checked root, and the versions of the consumers installed there."""

    def __init__(self, root: str, versions: Mapping[str, tuple[int, int, int] | None] | None = None) -> None:
        self.root = root
        self.versions = dict(versions or {})

    def report(self, consumer: str, found: bool) -> ConsumerReport:
        version = self.versions.get(consumer)
        return ConsumerReport(consumer, found or consumer in self.versions, version=version)

    def path(self, absolute: str) -> str:
        return os.path.join(self.root, absolute.lstrip("/"))

    def has_binary(self, name: str) -> bool:
        return any(os.path.exists(os.path.join(self.root, d, name)) for d in _BIN_DIRS)

    def drop_ins(self, directory: str) -> list[str]:
        return sorted(glob.glob(os.path.join(self.path(directory), "*.conf")))


def _norm(path: str) -> str:
    # /var/run is a symlink to /run on every current distribution.
    path = os.path.normpath(path)
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


def _dirs_findings(
    consumer: str,
    config: str,
    consumer_dirs: Sequence[str],
    cdikit_dirs: Sequence[str],
    fix: Callable[[list[str]], str],
) -> list[Finding]:
    """A finding when the consumer does not read every spec dir cdikit uses."""
    read = {_norm(d) for d in consumer_dirs}
    missing = [d for d in cdikit_dirs if _norm(d) not in read]
    if not missing:
        return []
    wanted = list(consumer_dirs) + [d for d in missing if d not in consumer_dirs]
    top = cdikit_dirs[-1] if cdikit_dirs else None
    severity = "error" if top in missing else "warning"
    return [
        Finding(
            severity,  # type: ignore[arg-type]
            f"{consumer}-spec-dirs",
            config,
            f"{consumer} reads {', '.join(consumer_dirs) or 'no spec dir'} but not {', '.join(missing)}; "
            "devices whose specs live there are unresolvable for it"
            + (f" ({top} is where cdikit installs specs)" if severity == "error" else ""),
            fix(wanted),
        )
    ]


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _read_json(path: str) -> tuple[Any, str | None]:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read() or b"{}"), None
    except (OSError, ValueError) as err:
        return None, str(err)


def _read_toml(path: str) -> tuple[dict[str, Any] | None, str | None]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle), None
    except (OSError, tomllib.TOMLDecodeError) as err:
        return None, str(err)


def _listed_dirs(dirs: object, default: Sequence[str] = DEFAULT_SPEC_DIRS) -> list[str]:
    """The configured spec-dir list, or the consumer's default when it is not a list."""
    return [str(d) for d in dirs] if isinstance(dirs, list) else list(default)


def _single_config(host: _Host, consumer: str, config: str, binary: str) -> tuple[ConsumerReport, str, bool]:
    """``(report, config path, whether it exists)`` for a consumer with one config file."""
    path = host.path(config)
    exists = os.path.exists(path)
    return host.report(consumer, exists or host.has_binary(binary)), path, exists


def _unloadable_specs(host: _Host, report: ConsumerReport, cdikit_dirs: list[str]) -> list[Finding]:
    """A warning per spec file (in the dirs the consumer reads) whose cdiVersion it cannot load."""
    from cdikit.spec.version import version_key

    top = report.max_spec_version
    if top is None:
        return []
    out = []
    read = {_norm(d) for d in (report.spec_dirs or cdikit_dirs)}
    for directory in cdikit_dirs:
        if _norm(directory) not in read:
            continue
        for path in sorted(glob.glob(os.path.join(host.path(directory), "*.json")) +
                           glob.glob(os.path.join(host.path(directory), "*.yaml"))):  # fmt: skip
            declared = _declared_version(path)
            if declared is not None and version_key(declared) > version_key(top):
                out.append(
                    Finding(
                        "warning",
                        f"{report.name}-spec-version",
                        path,
                        f"{report.name} {report.version_text} loads cdiVersion {top} at most; this spec declares "
                        f"{declared}, so its devices are unresolvable for {report.name}",
                        f"rewrite it with the minimum version: cdi spec install --cdi-version minimum {path} "
                        "(for NVIDIA specs: cdi generate nvidia --spec-version 0.5.0)",
                    )
                )
    return out


def _declared_version(path: str) -> str | None:
    """The ``cdiVersion`` a spec file declares (None: unreadable, or not a known version)."""
    from cdikit.errors import CDIError
    from cdikit.spec.version import normalize_version
    from cdikit.specfile import read_spec

    try:
        return normalize_version(read_spec(path).spec.cdi_version)
    except (CDIError, OSError, ValueError):  # a broken spec is lint's business, not this check's
        return None


def _load_config(report: ConsumerReport, path: str, reader: Callable[[str], tuple[Any, str | None]]) -> Any:
    """``reader(path)`` recorded in ``report``; None (with a finding) when it cannot be read."""
    report.config.append(path)
    config, problem = reader(path)
    if problem is not None or not isinstance(config, dict):
        report.findings.append(_unreadable(report.name, path, problem or "not a JSON object"))
        return None
    return config


def _cdi_disabled(report: ConsumerReport, path: str, message: str, fix: str) -> None:
    """Record that the setting in ``path`` turns CDI off for the consumer."""
    report.cdi_enabled = False
    report.findings.append(Finding("error", f"{report.name}-cdi-disabled", path, message, fix))


def _cdi_not_enabled(report: ConsumerReport, path: str, message: str, fix: str) -> None:
    """Record that ``path`` leaves CDI unset, which some releases of the consumer read as off."""
    report.findings.append(Finding("warning", f"{report.name}-cdi-not-enabled", path, message, fix))


def _unreadable(consumer: str, path: str, problem: str) -> Finding:
    return Finding(
        "error",
        f"{consumer}-config-invalid",
        path,
        f"cannot read {path}: {problem}",
        f"repair the syntax of {path}; {consumer} refuses to start with it",
    )


# --- Docker -------------------------------------------------------------------------------------


def _check_docker(host: _Host, cdikit_dirs: list[str]) -> ConsumerReport:
    report, path, exists = _single_config(host, "docker", "/etc/docker/daemon.json", "dockerd")
    if not report.found:
        return report
    restart = "then restart dockerd (systemctl restart docker)"
    version = report.version
    if version is not None and version[:2] < (25, 0):
        # No CDI in this engine: only through cdi-runtime (docker run --runtime cdi).
        config = _load_config(report, path, _read_json) if exists else {}
        runtimes = config.get("runtimes") if isinstance(config, dict) else None
        if isinstance(runtimes, dict) and "cdi" in runtimes:
            report.cdi_enabled, report.via = True, "cdi-runtime"
            report.spec_dirs = _shim_spec_dirs(host)
        else:
            _cdi_disabled(
                report,
                path,
                f"Docker Engine {report.version_text} has no CDI support (added in 25.0)",
                "upgrade Docker Engine, or register cdi-runtime: cdi configure docker --runtime yes --apply",
            )
        return report
    default_on = version is not None and version[:2] >= (28, 2)
    if not exists:
        report.spec_dirs = list(DEFAULT_SPEC_DIRS)
        if default_on:
            report.cdi_enabled = True
            report.findings += _dirs_findings(
                "docker", path, report.spec_dirs, cdikit_dirs, _docker_dirs_fix(path)
            )
            return report
        _cdi_not_enabled(
            report,
            path,
            "no daemon.json: Docker Engine before 28.2 keeps CDI off",
            f'create {path} with {{"features": {{"cdi": true}}}}, {restart}',
        )
        report.findings += _dirs_findings(
            "docker", path, report.spec_dirs, cdikit_dirs, _docker_dirs_fix(path)
        )
        return report
    config = _load_config(report, path, _read_json)
    if config is None:
        return report
    features = config.get("features") if isinstance(config.get("features"), dict) else {}
    cdi = features.get("cdi") if isinstance(features, dict) else None
    dirs = config.get("cdi-spec-dirs")
    if dirs == [""]:
        _cdi_disabled(
            report,
            path,
            '"cdi-spec-dirs": [""] disables CDI',
            f'set "cdi-spec-dirs": {json.dumps(list(cdikit_dirs))} in {path}, {restart}',
        )
        return report
    if cdi is False:
        _cdi_disabled(
            report,
            path,
            '"features": {"cdi": false} disables CDI',
            f'set "features": {{"cdi": true}} in {path}, {restart}',
        )
    elif cdi is None and not default_on:
        _cdi_not_enabled(
            report,
            path,
            "features.cdi is not set: Docker Engine before 28.2 keeps CDI off",
            f'add "features": {{"cdi": true}} to {path}, {restart}',
        )
    else:
        report.cdi_enabled = True
    report.spec_dirs = _listed_dirs(dirs)
    report.findings += _dirs_findings("docker", path, report.spec_dirs, cdikit_dirs, _docker_dirs_fix(path))
    return report


def _docker_dirs_fix(path: str) -> Callable[[list[str]], str]:
    return lambda wanted: f'set "cdi-spec-dirs": {json.dumps(wanted)} in {path}, then restart dockerd'


# --- containerd ---------------------------------------------------------------------------------

# Config version -> (section holding the CRI options, the releases reading that layout).
_CONTAINERD_SECTIONS: dict[int, tuple[str, str]] = {
    3: ("io.containerd.cri.v1.runtime", "containerd 2.x"),
    2: ("io.containerd.grpc.v1.cri", "containerd 1.6/1.7"),
    1: ("cri", "containerd 1.6/1.7"),
}


def _shim_spec_dirs(host: _Host) -> list[str]:
    """The spec dirs cdi-runtime reads: its config file's ``spec-dirs``, else the defaults."""
    config, _ = _read_toml(_shim_config(host))
    dirs = config.get("spec-dirs") if isinstance(config, dict) else None
    return _listed_dirs(dirs)


def _shim_config(host: _Host) -> str:
    """cdi-runtime's config file: on the host itself where the shim looks ($CDIKIT_RUNTIME_CONFIG)."""
    from cdikit._paths import RUNTIME_CONFIG_ENV, RUNTIME_CONFIG_PATH

    if os.path.abspath(host.root) == "/":
        return os.environ.get(RUNTIME_CONFIG_ENV) or RUNTIME_CONFIG_PATH
    return host.path(RUNTIME_CONFIG_PATH)


def _check_containerd_shim(
    host: _Host,
    report: ConsumerReport,
    path: str,
    section: dict[str, Any],
    header: str,
    cdikit_dirs: list[str],
) -> ConsumerReport:
    """containerd before 1.7: CDI only through a CRI runtime whose binary is cdi-runtime."""
    restart = "then restart containerd (systemctl restart containerd)"
    label = f"containerd {report.version_text}"
    containerd = section.get("containerd") if isinstance(section.get("containerd"), dict) else {}
    assert isinstance(containerd, dict)
    runtimes = containerd.get("runtimes") if isinstance(containerd.get("runtimes"), dict) else {}
    assert isinstance(runtimes, dict)
    default_name = containerd.get("default_runtime_name") or "runc"
    if runtimes and default_name not in runtimes:
        report.findings.append(
            Finding(
                "error",
                "containerd-no-default-runtime",
                path,
                f'{label}: default_runtime_name = "{default_name}" names no runtime in {header}'
                ".containerd.runtimes (a file defining any runtime replaces the built-in runc): "
                "the CRI plugin does not load",
                f'add [{header[1:-1]}.containerd.runtimes.{default_name}] with runtime_type = "io.containerd.runc.v2" '
                f"(cdi configure containerd --apply does), {restart}",
            )
        )
    shims = {
        name: entry
        for name, entry in runtimes.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("options"), dict)
        and os.path.basename(str(entry["options"].get("BinaryName", ""))).startswith("cdi-runtime")
    }
    if not shims:
        _cdi_disabled(
            report,
            path,
            f"{label} has no CDI support of its own (native CDI arrived in 1.7) and no runtime runs cdi-runtime",
            f"cdi configure containerd --apply (registers cdi-runtime as CRI runtime 'cdi'), {restart}",
        )
        return report
    report.cdi_enabled, report.via = True, "cdi-runtime"
    for name, entry in shims.items():
        annotations = entry.get("container_annotations")
        if not isinstance(annotations, list) or not any(
            a in ("cdi.k8s.io/*", "cdi.k8s.io/", "*") for a in annotations if isinstance(a, str)
        ):
            report.findings.append(
                Finding(
                    "error",
                    "containerd-cdi-annotations-dropped",
                    path,
                    f"runtime '{name}' (cdi-runtime) does not pass container annotations cdi.k8s.io/*: "
                    "the kubelet's CDI annotations never reach the shim",
                    f'set container_annotations = ["cdi.k8s.io/*"] under [{header[1:-1]}.containerd.runtimes.{name}], '
                    f"{restart}",
                )
            )
    report.spec_dirs = _shim_spec_dirs(host)
    shim_config = _shim_config(host)
    report.findings += _dirs_findings(
        "containerd",
        shim_config,
        report.spec_dirs,
        cdikit_dirs,
        lambda wanted: f"set spec-dirs = {_toml_list(wanted)} in {shim_config} (cdi-runtime's config)",
    )
    return report


def _check_containerd(host: _Host, cdikit_dirs: list[str]) -> ConsumerReport:
    report, path, exists = _single_config(host, "containerd", "/etc/containerd/config.toml", "containerd")
    if not report.found:
        return report
    restart = "then restart containerd (systemctl restart containerd)"
    version = report.version
    native = None if version is None else version[:2] >= (1, 7)
    default_on = None if version is None else version[:2] >= (2, 0)
    if not exists:
        report.spec_dirs = list(DEFAULT_SPEC_DIRS)
        if native is False:
            return _check_containerd_shim(
                host, report, path, {}, '[plugins."io.containerd.grpc.v1.cri"]', cdikit_dirs
            )
        if default_on:
            report.cdi_enabled = True
            report.findings += _dirs_findings(
                "containerd",
                path,
                report.spec_dirs,
                cdikit_dirs,
                lambda wanted: (
                    f"containerd config default > {path}, set cdi_spec_dirs = {_toml_list(wanted)}, {restart}"
                ),
            )
            return report
        _cdi_not_enabled(
            report,
            path,
            "no config.toml: containerd 1.7 keeps CDI off (2.x turns it on by default)",
            f"containerd config default > {path}, set enable_cdi = true in its CRI section, {restart}",
        )
        return report
    config = _load_config(report, path, _read_toml)
    if config is None:
        return report
    file_version = config.get("version", 1)
    section_name, release = _CONTAINERD_SECTIONS.get(file_version, _CONTAINERD_SECTIONS[3])
    if default_on is None:
        default_on = file_version >= 3
    plugins = config.get("plugins") if isinstance(config.get("plugins"), dict) else {}
    section = plugins.get(section_name) if isinstance(plugins, dict) else None
    section = section if isinstance(section, dict) else {}
    header = f'[plugins."{section_name}"]' if "." in section_name else f"[plugins.{section_name}]"
    if native is False:
        return _check_containerd_shim(host, report, path, section, header, cdikit_dirs)
    label = f"containerd {report.version_text}" if version else f"config version {file_version} ({release})"
    enabled = section.get("enable_cdi")
    if enabled is False:
        _cdi_disabled(
            report,
            path,
            f"enable_cdi = false under {header}: CDI device requests fail",
            f"set enable_cdi = true under {header} in {path}, {restart}",
        )
    elif enabled is None and not default_on:
        _cdi_not_enabled(
            report,
            path,
            f"{label}: enable_cdi is not set and defaults to false"
            + ("" if version else " in containerd 1.7 (containerd 1.6 has no CDI: cdi configure containerd)"),
            f"add enable_cdi = true under {header} in {path}, {restart}",
        )
    else:
        report.cdi_enabled = True
    dirs = section.get("cdi_spec_dirs")
    report.spec_dirs = _listed_dirs(dirs)
    report.findings += _dirs_findings(
        "containerd",
        path,
        report.spec_dirs,
        cdikit_dirs,
        lambda wanted: f"set cdi_spec_dirs = {_toml_list(wanted)} under {header} in {path}, {restart}",
    )
    return report


# --- CRI-O --------------------------------------------------------------------------------------


def _merged_toml(report: ConsumerReport, files: list[str]) -> dict[str, Any]:
    """The TOML files merged one table level deep, later files winning (drop-in semantics)."""
    merged: dict[str, Any] = {}
    for path in files:
        if not os.path.exists(path):
            continue
        config = _load_config(report, path, _read_toml)
        if config is not None:
            merged = _merge_tables(merged, config)
    return merged


def _merge_tables(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_tables(result[key], value)
        else:
            result[key] = value
    return result


def _check_crio(host: _Host, cdikit_dirs: list[str]) -> ConsumerReport:
    main = host.path("/etc/crio/crio.conf")
    files = [main, *host.drop_ins("/etc/crio/crio.conf.d")]
    report = host.report("crio", any(os.path.exists(f) for f in files) or host.has_binary("crio"))
    if not report.found:
        return report
    merged = _merged_toml(report, files)
    runtime = merged.get("crio", {}).get("runtime", {}) if isinstance(merged.get("crio"), dict) else {}
    dirs = runtime.get("cdi_spec_dirs") if isinstance(runtime, dict) else None
    report.cdi_enabled = True  # CRI-O has no switch: CDI is always on
    report.spec_dirs = _listed_dirs(dirs)
    target = report.config[-1] if report.config else main
    report.findings += _dirs_findings(
        "crio",
        target,
        report.spec_dirs,
        cdikit_dirs,
        lambda wanted: (
            f"set cdi_spec_dirs = {_toml_list(wanted)} under [crio.runtime] in "
            f"{host.path('/etc/crio/crio.conf.d/99-cdi.conf')}, then reload CRI-O (systemctl reload crio)"
        ),
    )
    return report


# --- podman -------------------------------------------------------------------------------------


def _check_podman(host: _Host, cdikit_dirs: list[str]) -> ConsumerReport:
    files = [
        host.path("/usr/share/containers/containers.conf"),
        host.path("/etc/containers/containers.conf"),
        *host.drop_ins("/etc/containers/containers.conf.d"),
    ]
    report = host.report("podman", any(os.path.exists(f) for f in files) or host.has_binary("podman"))
    if not report.found:
        return report
    merged = _merged_toml(report, files)
    engine = merged.get("engine") if isinstance(merged.get("engine"), dict) else {}
    dirs = engine.get("cdi_spec_dirs") if isinstance(engine, dict) else None
    conf = host.path("/etc/containers/containers.conf")
    version = report.version
    if version is not None and version[:2] < (4, 1):
        _cdi_disabled(
            report,
            conf,
            f"podman {report.version_text} has no CDI support (added in 4.1)",
            "upgrade podman, or register cdi-runtime: cdi configure podman --runtime yes --apply",
        )
        return report
    report.cdi_enabled = True  # podman always accepts CDI names in --device

    def fix(wanted: list[str]) -> str:
        return f"set cdi_spec_dirs = {_toml_list(wanted)} under [engine] in {conf} (or pass --cdi-spec-dir)"

    if version is not None and version[:2] < (5, 5):
        # cdi_spec_dirs is ignored before 5.5 (podman#25691): the CDI library's defaults apply.
        report.spec_dirs = list(DEFAULT_SPEC_DIRS)
        if isinstance(dirs, list) and {_norm(str(d)) for d in dirs} != {_norm(d) for d in DEFAULT_SPEC_DIRS}:
            report.findings.append(
                Finding(
                    "warning",
                    "podman-spec-dirs-ignored",
                    report.config[-1] if report.config else conf,
                    f"podman {report.version_text} ignores cdi_spec_dirs (honoured from 5.5): it reads "
                    "/etc/cdi and /var/run/cdi only",
                    "install the specs into /etc/cdi or /var/run/cdi",
                )
            )
        report.findings += _dirs_findings(
            "podman",
            conf,
            report.spec_dirs,
            cdikit_dirs,
            lambda _: "install the specs into /etc/cdi or /var/run/cdi",
        )
        return report
    if isinstance(dirs, list):
        report.spec_dirs = [str(d) for d in dirs]
    else:
        report.spec_dirs = list(DEFAULT_SPEC_DIRS)
        if any(_norm(d) == _norm("/var/run/cdi") for d in cdikit_dirs):
            report.findings.append(
                Finding(
                    "info",
                    "podman-spec-dirs-default",
                    conf,
                    "cdi_spec_dirs is not set: older podman releases read only /etc/cdi by default, "
                    "so specs in /var/run/cdi are invisible to them",
                    fix(list(cdikit_dirs)),
                )
            )
    report.findings += _dirs_findings("podman", conf, report.spec_dirs, cdikit_dirs, fix)
    return report


# --- BuildKit -----------------------------------------------------------------------------------


def _check_buildkit(host: _Host, cdikit_dirs: list[str]) -> ConsumerReport:
    report, path, exists = _single_config(host, "buildkit", "/etc/buildkit/buildkitd.toml", "buildkitd")
    if not report.found:
        return report
    cdi: dict[str, Any] = {}
    if exists:
        config = _load_config(report, path, _read_toml)
        if config is None:
            return report
        section = config.get("cdi")
        cdi = section if isinstance(section, dict) else {}
    restart = "then restart buildkitd"
    if cdi.get("disabled") is True:
        _cdi_disabled(
            report,
            path,
            "[cdi] disabled = true: RUN --device fails",
            f"set disabled = false under [cdi] in {path}, {restart}",
        )
    else:
        report.cdi_enabled = True
    dirs = cdi.get("specDirs")
    report.spec_dirs = _listed_dirs(dirs, _BUILDKIT_DEFAULT_DIRS)
    report.findings += _dirs_findings(
        "buildkit",
        path,
        report.spec_dirs,
        cdikit_dirs,
        lambda wanted: f"set specDirs = {_toml_list(wanted)} under [cdi] in {path}, {restart}",
    )
    return report
